using AppService.Simulator.Workload;

namespace AppService.Simulator.Sending;

/// <summary>
/// Builds poison events: each kind would visibly corrupt the projection if the service applied it (a member
/// row's membership or displayname, the room name or topic, a room that must not exist).
/// </summary>
internal sealed class PoisonFactory(SeededRandom rng, string serverName)
{
    public static readonly string[] Kinds =
    [
        "missing-event-id", "missing-room-id", "missing-type", "membership-not-string", "displayname-not-string",
        "name-not-string", "content-not-object", "oversized-state", "oversized-message", "poison-only-room",
    ];

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
            "displayname-not-string" => Make(index, eventId, roomId, "m.room.member", target, target, ts,
                Json.Object(("membership", "join"), ("displayname", new (string, object?)[] { ("poisoned", true) })), kind),
            "name-not-string" => Make(index, eventId, roomId, "m.room.name", near.Sender, "", ts, Json.Object(("name", 123)), kind),
            "content-not-object" => Make(index, eventId, roomId, "m.room.topic", near.Sender, "", ts, "\"not an object\""u8.ToArray(), kind),
            "oversized-state" => Make(index, eventId, roomId, "m.room.topic", near.Sender, "", ts,
                Json.Object(("topic", new string('t', 70_000))), kind),
            "oversized-message" => Make(index, eventId, roomId, "m.room.message", near.Sender, null, ts,
                Json.Object(("msgtype", "m.text"), ("body", new string('m', 70_000))), kind),
            "poison-only-room" => Make(index, eventId, PoisonOnlyRoomId(), "m.room.name", near.Sender, "", ts,
                Json.Object(("name", false)), kind),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown poison kind"),
        };
    }

    private string PoisonOnlyRoomId() => "!poisononly" + rng.Next(1_000_000) + ":" + serverName;

    private static SimEvent Make(int index, string? eventId, string? roomId, string? type, string sender, string? stateKey,
        long ts, byte[] content, string kind) => new()
    {
        Index = index,
        EventId = eventId,
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
