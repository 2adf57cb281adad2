using AppService.Simulator.Workload;

namespace AppService.Simulator.Tests;

/// <summary>Hand-made events for model tests.</summary>
internal static class Ev
{
    public const string Bot = "@bot:localhost";
    public const string Room = "!room:localhost";
    private static int _next;

    public static SimEvent Make(string type, string sender, string? stateKey, byte[] content, string? room = Room, string? eventId = null) => new()
    {
        Index = Interlocked.Increment(ref _next),
        EventId = eventId ?? "$e" + Interlocked.Increment(ref _next) + ":localhost",
        RoomId = room,
        Type = type,
        Sender = sender,
        StateKey = stateKey,
        OriginServerTs = 1_700_000_000_000,
        Content = content,
    };

    public static SimEvent Member(string sender, string target, string membership, string? displayname = null, string? room = Room) =>
        Make("m.room.member", sender, target,
            displayname is null ? Json.Object(("membership", membership)) : Json.Object(("membership", membership), ("displayname", displayname)), room);

    public static SimEvent State(string type, string content, string stateKey = "", string sender = "@alice:localhost", string? room = Room) =>
        Make(type, sender, stateKey, System.Text.Encoding.UTF8.GetBytes(content), room);

    public static SimEvent Message(string sender = "@alice:localhost", string? room = Room) =>
        Make("m.room.message", sender, null, Json.Object(("msgtype", "m.text"), ("body", "hi")), room);
}
