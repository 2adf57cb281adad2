using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace AppService.IntegrationTests.Infrastructure;

/// <summary>
/// Builds ClientEvents as a homeserver pushes them. Event ids are room-v3 style: standard base64 with '/' and '+'.
/// Like a homeserver, a state event names the event it replaces in <c>unsigned.replaces_state</c>: the previous
/// state event built for the same room, type and state_key (in build order: the order the homeserver created them).
/// </summary>
public static class Events
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string RoomId, string Type, string StateKey), string> LastStateEvent = new();

    public const string Alice = "@alice:test";
    public const string Bob = "@bob:test";
    public const string Carol = "@carol:test";

    private static long _ts = 1_795_000_000_000;

    /// <summary>A room v3 event id that contains both '/' and '+'.</summary>
    public static string NewEventId()
    {
        while (true)
        {
            string id = "$" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=');
            if (id.Contains('/', StringComparison.Ordinal) && id.Contains('+', StringComparison.Ordinal))
            {
                return id;
            }
        }
    }

    public static string NewRoomId() => $"!{Convert.ToHexString(RandomNumberGenerator.GetBytes(9))}:test";

    public static JsonObject Member(string roomId, string userId, string membership, string? sender = null, string? displayname = null,
        string? avatarUrl = null, JsonObject? prevContent = null)
    {
        var content = new JsonObject { ["membership"] = membership };
        if (displayname is not null)
        {
            content["displayname"] = displayname;
        }

        if (avatarUrl is not null)
        {
            content["avatar_url"] = avatarUrl;
        }

        var e = State(roomId, "m.room.member", content, sender ?? userId, userId);
        if (prevContent is not null)
        {
            e["unsigned"]!["prev_content"] = prevContent;
        }

        return e;
    }

    public static JsonObject State(string roomId, string type, JsonObject content, string sender = Alice, string stateKey = "")
    {
        string eventId = NewEventId();
        var unsigned = new JsonObject { ["age"] = 12 };
        string? replaces = null;
        LastStateEvent.AddOrUpdate((roomId, type, stateKey), eventId, (_, previous) =>
        {
            replaces = previous;
            return eventId;
        });
        if (replaces is not null)
        {
            unsigned["replaces_state"] = replaces;
        }

        return new()
        {
            ["event_id"] = eventId,
            ["room_id"] = roomId,
            ["type"] = type,
            ["sender"] = sender,
            ["state_key"] = stateKey,
            ["origin_server_ts"] = Interlocked.Increment(ref _ts),
            ["content"] = content,
            ["unsigned"] = unsigned,
        };
    }

    public static JsonObject Message(string roomId, string sender, string body) => new()
    {
        ["event_id"] = NewEventId(),
        ["room_id"] = roomId,
        ["type"] = "m.room.message",
        ["sender"] = sender,
        ["origin_server_ts"] = Interlocked.Increment(ref _ts),
        ["content"] = new JsonObject { ["msgtype"] = "m.text", ["body"] = body },
    };

    public static string Id(this JsonObject e) => e["event_id"]!.GetValue<string>();
}
