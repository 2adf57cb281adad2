using System.Text.Json;
using System.Text.Json.Nodes;
using AppService.Matrix;
using AppService.Projections;

namespace AppService.Tests;

/// <summary>
/// Events for the bot-lifecycle tests, built as JSON and parsed the way the transaction endpoint parses them. Keeps
/// the parsed documents alive for as long as the test uses the events.
/// </summary>
internal sealed class BotLifecycleEvents : IDisposable
{
    public const string Room = "!room:hs.test";
    public const string Bot = "@bot:hs.test";
    public const string Alice = "@alice:hs.test";
    public const string Bob = "@bob:hs.test";
    public const string Carol = "@carol:hs.test";

    public static readonly DateTimeOffset Now = new(2026, 7, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly List<JsonDocument> _documents = [];
    private int _next;

    public MatrixEvent Parse(JsonObject json)
    {
        var document = JsonDocument.Parse(json.ToJsonString());
        _documents.Add(document);
        return TransactionParser.ParseEvent(document.RootElement, 65536, out var rejected)
            ?? throw new InvalidOperationException($"The test event was rejected: {rejected!.Reason}");
    }

    public MatrixEvent State(string type, JsonObject content, string stateKey = "", string sender = Alice, string roomId = Room,
        string? eventId = null, string? replacesState = null, JsonObject? unsigned = null)
    {
        unsigned ??= [];
        if (replacesState is not null)
        {
            unsigned["replaces_state"] = replacesState;
        }

        return Parse(new JsonObject
        {
            ["event_id"] = eventId ?? NextId(),
            ["room_id"] = roomId,
            ["type"] = type,
            ["sender"] = sender,
            ["state_key"] = stateKey,
            ["content"] = content,
            ["unsigned"] = unsigned,
        });
    }

    public MatrixEvent Member(string userId, string membership, string? sender = null, string? displayname = null, string? avatarUrl = null,
        string roomId = Room, string? eventId = null, string? replacesState = null, JsonObject? unsigned = null)
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

        return State(EventTypes.Member, content, userId, sender ?? userId, roomId, eventId, replacesState, unsigned);
    }

    /// <summary>A redaction with <c>redacts</c> at the top level (v1-v10) or in content (v11+).</summary>
    public MatrixEvent Redaction(string redacts, bool inContent = false, string roomId = Room, string? eventId = null)
    {
        var json = new JsonObject
        {
            ["event_id"] = eventId ?? NextId(),
            ["room_id"] = roomId,
            ["type"] = EventTypes.Redaction,
            ["sender"] = Alice,
            ["content"] = inContent ? new JsonObject { ["redacts"] = redacts } : new JsonObject(),
        };
        if (!inContent)
        {
            json["redacts"] = redacts;
        }

        return Parse(json);
    }

    public MatrixEvent Message(string body, string roomId = Room) => Parse(new JsonObject
    {
        ["event_id"] = NextId(),
        ["room_id"] = roomId,
        ["type"] = "m.room.message",
        ["sender"] = Alice,
        ["content"] = new JsonObject { ["msgtype"] = "m.text", ["body"] = body },
    });

    /// <summary>The bot's invite, carrying stripped state as Synapse sends it.</summary>
    public MatrixEvent Invite(JsonArray? strippedState = null, string roomId = Room, string? eventId = null) =>
        Member(Bot, Memberships.Invite, sender: Alice, roomId: roomId, eventId: eventId,
            unsigned: strippedState is null ? null : new JsonObject { ["invite_room_state"] = strippedState });

    public static JsonObject Stripped(string type, JsonObject content, string stateKey = "") => new()
    {
        ["type"] = type,
        ["state_key"] = stateKey,
        ["sender"] = Alice,
        ["content"] = content,
    };

    public static RoomMember Row(string userId, string membership, string eventId, string? displayname = null, string roomId = Room) =>
        new(roomId, userId, membership) { DisplayName = displayname, EventId = eventId, Sender = userId, UpdatedAt = Now.AddDays(-1) };

    public void Dispose()
    {
        foreach (var document in _documents)
        {
            document.Dispose();
        }
    }

    private string NextId() => $"$e{++_next}";
}
