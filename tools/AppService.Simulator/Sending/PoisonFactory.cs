using System.Text;
using AppService.Simulator.Workload;

namespace AppService.Simulator.Sending;

/// <summary>
/// Builds poison events: each rejected kind would visibly corrupt the projection if the service applied it (a member
/// row's membership or displayname, the room name or topic, a room that must not exist); each applied kind (issue 8)
/// must be applied with its display value sanitised, and a service that fails on it stalls the stream.
/// </summary>
internal sealed class PoisonFactory(SeededRandom rng, string serverName)
{
    /// <summary>Kinds the service must reject (stored with a reason, nothing projected).</summary>
    public static readonly string[] RejectedKinds =
    [
        "missing-event-id", "missing-room-id", "missing-type", "membership-not-string",
        "content-not-object", "oversized-state", "oversized-message", "poison-only-room",
        "nul-event-id", "nul-state-key", "surrogate-event-id", "surrogate-state-key", "deep-2000", "long-event-id",
    ];

    /// <summary>
    /// Hostile but valid kinds (issue 8): applied, display values stored sanitised, odd numbers not projected; a display
    /// value that is not a string is projected as null and its event still counts (issue 16 point 4).
    /// </summary>
    public static readonly string[] AppliedKinds =
    [
        "nul-displayname", "nul-name", "nul-topic", "surrogate-displayname", "deep-100", "huge-number",
        "displayname-not-string", "name-not-string",
    ];

    public static readonly string[] Kinds = [.. RejectedKinds, .. AppliedKinds];

    private int _next = -1;

    /// <summary>A poison event of the given kind, placed in the room of (and just after) a real event.</summary>
    public SimEvent Create(string kind, SimEvent near)
    {
        var roomId = near.RoomId!;
        var target = near.Type == "m.room.member" && near.StateKey is not null ? near.StateKey : near.Sender;
        var eventId = "$poison" + Convert.ToHexString(BitConverter.GetBytes(rng.NextUInt64())).ToLowerInvariant();
        var ts = near.OriginServerTs + 1;
        var index = _next--;
        var message = Json.Object(("msgtype", "m.text"), ("body", "poison"));
        return kind switch
        {
            "missing-event-id" => Make(index, null, roomId, "m.room.message", near.Sender, null, ts, message, kind),
            "missing-room-id" => Make(index, eventId, null, "m.room.message", near.Sender, null, ts, message, kind),
            "missing-type" => Make(index, eventId, roomId, null, near.Sender, null, ts, message, kind),
            "membership-not-string" => Make(index, eventId, roomId, "m.room.member", target, target, ts,
                Json.Object(("membership", 5), ("displayname", "poisoned")), kind),
            "displayname-not-string" => Make(index, eventId, roomId, "m.room.member", PoisonUser(index), PoisonUser(index), ts,
                Json.Object(("membership", "join"), ("displayname", new (string, object?)[] { ("poisoned", true) })), kind),
            "name-not-string" => Make(index, eventId, roomId, "m.room.name", near.Sender, "", ts, Json.Object(("name", 123)), kind),
            "content-not-object" => Make(index, eventId, roomId, "m.room.topic", near.Sender, "", ts, "\"not an object\""u8.ToArray(), kind),
            "oversized-state" => Make(index, eventId, roomId, "m.room.topic", near.Sender, "", ts,
                Json.Object(("topic", new string('t', 70_000))), kind),
            "oversized-message" => Make(index, eventId, roomId, "m.room.message", near.Sender, null, ts,
                Json.Object(("msgtype", "m.text"), ("body", new string('m', 70_000))), kind),
            "poison-only-room" => Make(index, eventId, PoisonOnlyRoomId(), "m.room.member", near.Sender, near.Sender, ts,
                Json.Object(("membership", false)), kind),
            "nul-event-id" => Make(index, eventId + "\0x", roomId, "m.room.message", near.Sender, null, ts, message, kind),
            "nul-state-key" => Make(index, eventId, roomId, "m.room.member", near.Sender, "@nul\0" + index + ":" + serverName, ts,
                Json.Object(("membership", "join")), kind),
            "surrogate-event-id" => Make(index, eventId + "\ud800", roomId, "m.room.message", near.Sender, null, ts, message, kind,
                rawEventId: Encoding.UTF8.GetBytes("\"" + eventId + "\\ud800\"")),
            "surrogate-state-key" => Make(index, eventId, roomId, "m.room.member", near.Sender, "@lone\udc00" + index + ":" + serverName, ts,
                Json.Object(("membership", "join")), kind,
                rawStateKey: Encoding.UTF8.GetBytes("\"@lone\\udc00" + index + ":" + serverName + "\"")),
            "deep-2000" => Make(index, eventId, roomId, "m.room.message", near.Sender, null, ts, Deep(2000), kind),
            "long-event-id" => Make(index, "$" + RandomBase64(3 * 1024), roomId, "m.room.message", near.Sender, null, ts, message, kind),
            "nul-displayname" => Make(index, eventId, roomId, "m.room.member", PoisonUser(index), PoisonUser(index), ts,
                Json.Object(("membership", "join"), ("displayname", "Eve\0 " + index)), kind),
            "surrogate-displayname" => Make(index, eventId, roomId, "m.room.member", PoisonUser(index), PoisonUser(index), ts,
                Encoding.UTF8.GetBytes("{\"membership\":\"join\",\"displayname\":\"Eve\\ud800 " + index + "\"}"), kind),
            "nul-name" => Make(index, eventId, roomId, "m.room.name", near.Sender, "", ts, Json.Object(("name", "Na\0me " + index)), kind),
            "nul-topic" => Make(index, eventId, roomId, "m.room.topic", near.Sender, "", ts, Json.Object(("topic", "\0To\0pic " + index)), kind),
            "deep-100" => Make(index, eventId, roomId, "m.room.message", near.Sender, null, ts, Deep(100), kind),
            "huge-number" => Make(index, eventId, roomId, "m.room.message", near.Sender, null, ts,
                "{\"msgtype\":\"m.text\",\"body\":\"numbers\",\"n\":1e999999,\"m\":-1e-999999,\"k\":123456789012345678901234567890}"u8.ToArray(), kind),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown poison kind"),
        };
    }

    /// <summary>A user only poison events name: its member row exists only through them.</summary>
    private string PoisonUser(int index) => "@poisoned" + (-index) + ":" + serverName;

    private static byte[] Deep(int depth) =>
        Encoding.UTF8.GetBytes("{\"msgtype\":\"m.text\",\"body\":\"deep\",\"deep\":"
            + string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth) + "}");

    /// <summary>Random base64url: PostgreSQL's pglz cannot shrink it, so an index row really is this long.</summary>
    private string RandomBase64(int length)
    {
        var bytes = new byte[length];
        rng.NextBytes(bytes);
        return Convert.ToBase64String(bytes).Replace('+', '-').Replace('/', '_')[..length];
    }

    private string PoisonOnlyRoomId() => "!poisononly" + rng.Next(1_000_000) + ":" + serverName;

    private static SimEvent Make(int index, string? eventId, string? roomId, string? type, string sender, string? stateKey,
        long ts, byte[] content, string kind, byte[]? rawEventId = null, byte[]? rawStateKey = null) => new()
    {
        Index = index,
        EventId = eventId,
        RawEventIdJson = rawEventId,
        RawStateKeyJson = rawStateKey,
        RoomId = roomId,
        Type = type,
        Sender = sender,
        StateKey = stateKey,
        OriginServerTs = ts,
        Content = content,
        Pushed = true,
        PoisonKind = kind,
    };
}
