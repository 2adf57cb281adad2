using System.Text.Json;
using System.Text.Json.Nodes;
using AppService.Matrix;
using AppService.Projections;

namespace AppService.Tests.Projections;

/// <summary>
/// Builds events the way the transaction endpoint does (JSON text through <see cref="TransactionParser.ParseEvent"/>)
/// and keeps their documents alive for as long as the test that owns this object uses the events.
/// </summary>
internal sealed class Events : IDisposable
{
    public const string Room = "!room:hs.test";
    public const string Bot = "@bot:hs.test";
    public const string Alice = "@alice:hs.test";
    public const string Bob = "@bob:hs.test";
    public const string Mod = "@mod:hs.test";
    public const string Carol = "@carol:hs.test";
    public const int MaxEventBytes = 65536;

    public static readonly DateTimeOffset Earlier = new(2026, 6, 1, 8, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset Now = new(2026, 7, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly List<JsonDocument> _documents = [];
    private readonly Dictionary<(string RoomId, string Type, string StateKey), string> _lastStateEvent = [];
    private int _next;

    /// <summary>Parses one event; a test event the parser rejects is a broken test, not a result.</summary>
    public MatrixEvent Parse(string json)
    {
        var document = JsonDocument.Parse(json);
        _documents.Add(document);
        return TransactionParser.ParseEvent(document.RootElement, MaxEventBytes, out var rejected)
            ?? throw new InvalidOperationException($"The test event was rejected: {rejected!.Reason}");
    }

    /// <summary>An <c>m.room.member</c> event for <paramref name="userId"/> (the state_key), sent by itself unless told.</summary>
    public MatrixEvent Member(
        string userId,
        string membership,
        string? sender = null,
        string roomId = Room,
        JsonObject? content = null,
        JsonObject? unsigned = null,
        string? eventId = null)
    {
        content ??= [];
        content["membership"] = membership;
        return Event(EventTypes.Member, roomId, sender ?? userId, userId, content, unsigned, eventId);
    }

    /// <summary>A state event; room-info events use state_key "".</summary>
    public MatrixEvent State(
        string type,
        JsonObject content,
        string stateKey = "",
        string sender = Alice,
        string roomId = Room,
        string? eventId = null,
        JsonObject? unsigned = null) =>
        Event(type, roomId, sender, stateKey, content, unsigned, eventId);

    /// <summary>An <c>m.room.redaction</c> with <c>redacts</c> at the top level (v1-v10) or in content (v11+).</summary>
    public MatrixEvent Redaction(string redacts, bool inContent = false, string roomId = Room, string? eventId = null)
    {
        var e = new JsonObject
        {
            ["event_id"] = eventId ?? $"$ev{++_next}",
            ["room_id"] = roomId,
            ["type"] = EventTypes.Redaction,
            ["sender"] = Alice,
            ["content"] = inContent ? new JsonObject { ["redacts"] = redacts } : [],
        };
        if (!inContent)
        {
            e["redacts"] = redacts;
        }

        return Parse(e.ToJsonString());
    }

    /// <summary>The bot's invite, sent by Alice, with stripped state in <c>unsigned.invite_room_state</c> as Synapse sends it.</summary>
    public MatrixEvent BotInvite(JsonArray? strippedState = null, string roomId = Room) =>
        Member(Bot, Memberships.Invite, sender: Alice, roomId: roomId,
            unsigned: strippedState is null ? null : new JsonObject { ["invite_room_state"] = strippedState });

    /// <summary>
    /// Tells the builder that <paramref name="eventId"/> is the stored current event of a key (a loaded row), so the
    /// next event built for that key names it in <c>replaces_state</c>, as the homeserver's would.
    /// </summary>
    public void Held(string roomId, string type, string stateKey, string eventId) => _lastStateEvent[(roomId, type, stateKey)] = eventId;

    /// <summary>Loads a stored member row into <paramref name="batch"/> and tells the builder its event is the key's current one.</summary>
    public void LoadMember(ProjectionBatch batch, RoomMember member)
    {
        batch.LoadMember(member);
        Held(member.RoomId, EventTypes.Member, member.UserId, member.EventId);
    }

    /// <summary>An <c>unsigned</c> naming the state event this one replaces.</summary>
    public static JsonObject Replacing(string eventId) => new() { ["replaces_state"] = eventId };

    /// <summary>A member event's content with a profile.</summary>
    public static JsonObject Profile(string? displayname = null, string? avatarUrl = null) => new()
    {
        ["displayname"] = displayname,
        ["avatar_url"] = avatarUrl,
    };

    /// <summary>One stripped state entry (type, state_key, sender, content; no event id).</summary>
    public static JsonObject Stripped(string type, JsonObject content, string stateKey = "") => new()
    {
        ["type"] = type,
        ["state_key"] = stateKey,
        ["sender"] = Alice,
        ["content"] = content,
    };

    /// <summary>A stored member row, set a day ago by <paramref name="eventId"/>.</summary>
    public static RoomMember Row(string userId, string membership, string eventId, string? displayname = null, string roomId = Room) =>
        new(roomId, userId, membership) { DisplayName = displayname, EventId = eventId, Sender = userId, UpdatedAt = Now.AddDays(-1) };

    /// <summary>A message event (no state_key).</summary>
    public MatrixEvent Message(string roomId = Room, string sender = Alice, string? eventId = null) =>
        Event("m.room.message", roomId, sender, stateKey: null, new JsonObject { ["msgtype"] = "m.text", ["body"] = "hi" }, null, eventId);

    public void Dispose()
    {
        foreach (var document in _documents)
        {
            document.Dispose();
        }
    }

    private MatrixEvent Event(
        string type,
        string roomId,
        string sender,
        string? stateKey,
        JsonObject content,
        JsonObject? unsigned,
        string? eventId)
    {
        var e = new JsonObject
        {
            ["event_id"] = eventId ?? $"$ev{++_next}",
            ["room_id"] = roomId,
            ["type"] = type,
            ["sender"] = sender,
            ["origin_server_ts"] = 1_780_000_000_000 + _next,
            ["content"] = content,
        };
        if (stateKey is not null)
        {
            e["state_key"] = stateKey;

            // As a homeserver does: a state event names the one it replaces (the previous one built for its key),
            // unless the test says what it replaces (or that it replaces nothing: "replaces_state": null).
            string id = e["event_id"]!.GetValue<string>();
            if (_lastStateEvent.TryGetValue((roomId, type, stateKey), out string? previous) && !(unsigned?.ContainsKey("replaces_state") ?? false))
            {
                unsigned = unsigned is null ? [] : (JsonObject)unsigned.DeepClone();
                unsigned["replaces_state"] = previous;
            }

            _lastStateEvent[(roomId, type, stateKey)] = id;
        }

        if (unsigned is not null)
        {
            e["unsigned"] = unsigned;
        }

        return Parse(e.ToJsonString());
    }
}
