using System.Text.Json;
using System.Text.Json.Nodes;
using AppService.Matrix;

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
    public const int MaxEventBytes = 65536;

    public static readonly DateTimeOffset Earlier = new(2026, 6, 1, 8, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset Now = new(2026, 7, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly List<JsonDocument> _documents = [];
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
        string? eventId = null) =>
        Event(type, roomId, sender, stateKey, content, unsigned: null, eventId);

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
        }

        if (unsigned is not null)
        {
            e["unsigned"] = unsigned;
        }

        return Parse(e.ToJsonString());
    }
}
