using AppService.Simulator.Workload;

namespace AppService.Simulator.Tests;

/// <summary>Hand-made events for model tests.</summary>
internal static class Ev
{
    public const string Bot = "@bot:localhost";
    public const string Room = "!room:localhost";
    private static int _next;

    public static SimEvent Make(string type, string sender, string? stateKey, byte[] content, string? room = Room, string? eventId = null,
        string? replaces = null) => new()
    {
        Index = Interlocked.Increment(ref _next),
        EventId = eventId ?? "$e" + Interlocked.Increment(ref _next) + ":localhost",
        RoomId = room,
        Type = type,
        Sender = sender,
        StateKey = stateKey,
        OriginServerTs = 1_700_000_000_000,
        Content = content,
        ReplacesState = replaces,
    };

    public static SimEvent Member(string sender, string target, string membership, string? displayname = null, string? room = Room,
        string? replaces = null) =>
        Make("m.room.member", sender, target,
            displayname is null ? Json.Object(("membership", membership)) : Json.Object(("membership", membership), ("displayname", displayname)),
            room, replaces: replaces);

    public static SimEvent State(string type, string content, string stateKey = "", string sender = "@alice:localhost", string? room = Room,
        string? replaces = null) =>
        Make(type, sender, stateKey, System.Text.Encoding.UTF8.GetBytes(content), room, replaces: replaces);

    public static SimEvent Message(string sender = "@alice:localhost", string? room = Room) =>
        Make("m.room.message", sender, null, Json.Object(("msgtype", "m.text"), ("body", "hi")), room);
}

/// <summary>
/// Hand-made events as one homeserver's stream: every state event carries <c>unsigned.replaces_state</c> = the
/// previous event of its key made here (none for the first of a key), as a homeserver sets it.
/// </summary>
internal sealed class HsStream
{
    private readonly Dictionary<(string? Room, string Type, string StateKey), string> _last = [];

    public SimEvent Make(string type, string sender, string? stateKey, byte[] content, string? room = Ev.Room, string? eventId = null)
    {
        string? replaces = stateKey is not null ? _last.GetValueOrDefault((room, type, stateKey)) : null;
        var e = Ev.Make(type, sender, stateKey, content, room, eventId, replaces);
        if (stateKey is not null && !string.IsNullOrEmpty(e.EventId))
        {
            _last[(room, type, stateKey)] = e.EventId;
        }
        return e;
    }

    public SimEvent Member(string sender, string target, string membership, string? displayname = null, string? room = Ev.Room) =>
        Make("m.room.member", sender, target,
            displayname is null ? Json.Object(("membership", membership)) : Json.Object(("membership", membership), ("displayname", displayname)), room);

    public SimEvent State(string type, string content, string stateKey = "", string sender = "@alice:localhost", string? room = Ev.Room) =>
        Make(type, sender, stateKey, System.Text.Encoding.UTF8.GetBytes(content), room);
}
