using System.Text.Json;
using AppService.Homeserver;
using AppService.Matrix;
using AppService.Projections;

namespace AppService.Tests.Matrix;

/// <summary>
/// The three paths that read a Matrix event (a pushed transaction, a resync's /state answer, an invite's stripped
/// state) read it with one reader (<see cref="EventReader"/>): the same entry gets the same verdict on each.
/// </summary>
public sealed class EventReaderTests : IDisposable
{
    private const string Room = "!room:hs.test";

    private readonly Bodies _bodies = new();

    public void Dispose() => _bodies.Dispose();

    /// <summary>An m.room.name state event with one field replaced by a JSON fragment (every path takes this type).</summary>
    private static string NameEvent(string sender = "\"@a:hs.test\"", string stateKey = "\"\"", string type = "\"m.room.name\"",
        string content = """{"name":"N"}""") =>
        $$"""{"event_id":"$n","room_id":"{{Room}}","type":{{type}},"state_key":{{stateKey}},"sender":{{sender}},"content":{{content}}}""";

    public static TheoryData<string, string?> Hostile => new()
    {
        // An id or key holding U+0000 or a lone surrogate: refused everywhere (an id changed to fit is another id).
        { NameEvent(stateKey: "\"\\u0000\""), RejectionCodes.InvalidString },
        { NameEvent(stateKey: "\"\\ud800\""), RejectionCodes.InvalidString },
        { NameEvent(sender: "\"@a\\u0000:hs.test\""), RejectionCodes.InvalidString },
        { NameEvent(sender: "\"@a\\udc00:hs.test\""), RejectionCodes.InvalidString },
        { NameEvent(type: "\"m.room.name\\ud800\""), RejectionCodes.InvalidString },
        // Wrong types and sizes: refused everywhere.
        { NameEvent(sender: "5"), RejectionCodes.WrongType },
        { NameEvent(stateKey: "5"), RejectionCodes.WrongType },
        { NameEvent(content: "[]"), RejectionCodes.WrongType },
        { NameEvent(sender: $"\"@{new string('a', 300)}:hs.test\""), RejectionCodes.TooLarge },
        { NameEvent(content: """{"name":"N","deep":""" + new string('[', 1100) + new string(']', 1100) + "}"), RejectionCodes.TooDeep },
        // A display value holding U+0000 or a lone surrogate: applied everywhere, made storable when projected.
        // A property name holding them where nothing is read: applied everywhere (issue 16 point 4).
        { NameEvent(content: """{"name":"N","\u0000":1}"""), null },
        { NameEvent(content: """{"name":"N","users":{"\ud800":100}}"""), null },
        { NameEvent(content: """{"name":"N\u0000a\ud800me"}"""), null },
        { NameEvent(), null },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void The_reader_gives_a_pushed_a_snapshot_and_a_stripped_entry_the_same_verdict(string json, string? code)
    {
        var element = _bodies.Document(json).RootElement;

        var verdicts = new[] { EventShape.Pushed(Bodies.MaxEventBytes), EventShape.Snapshot(Room), EventShape.Stripped(Room) }
            .Select(shape => EventReader.Read(element, shape))
            .Select(r => (Accepted: r.Event is not null, r.Rejection?.Code));

        Assert.All(verdicts, v => Assert.Equal((code is null, code), v));
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public void The_transaction_the_resync_and_the_invite_apply_the_same_entries_alike(string json, string? code)
    {
        var (pushed, rejected) = _bodies.Event(json);
        var snapshot = Snapshots.ParseState(_bodies.Document($"[{json}]").RootElement, Room);
        var invite = _bodies.Document($$"""{"invite_room_state":[{{json}}]}""").RootElement;
        var stripped = StrippedState.RoomInfoEntries(
            new MatrixEvent("$i", Room, EventTypes.Member, "@a:hs.test", "@bot:hs.test", null, default, invite, null));

        string?[] names = [Name(pushed), Name(snapshot.Events.SingleOrDefault()), Name(stripped.SingleOrDefault())];

        Assert.Equal(code, rejected?.Code);
        Assert.Equal(code is null ? 0 : 1, snapshot.Skipped);
        Assert.Single(names.Distinct());
        Assert.Equal(code is null, names[0] is not null);
        Assert.True(names[0] is null || MatrixText.IsValid(names[0]!), "a display value is stored cleaned");

        static string? Name(MatrixEvent? e) => e is null ? null : RoomInfoProjector.Apply(new RoomInfo(Room), e, DateTimeOffset.UnixEpoch).Name;
    }

    public static TheoryData<string, string?, string?, string?> Shapes => new()
    {
        // entry, then the verdict (null: read) of a pushed event, a snapshot entry, a stripped state entry
        { """{"room_id":"!room:hs.test","type":"m.room.name","state_key":"","content":{}}""", RejectionCodes.MissingField, RejectionCodes.MissingField, null },
        { """{"event_id":"$n","type":"m.room.name","state_key":"","content":{}}""", RejectionCodes.MissingField, null, null },
        { """{"event_id":"$n","room_id":"!other:hs.test","type":"m.room.name","state_key":"","content":{}}""", null, RejectionCodes.WrongType, RejectionCodes.WrongType },
        { """{"event_id":"$n","room_id":"","type":"m.room.name","state_key":"","content":{}}""", RejectionCodes.MissingField, RejectionCodes.WrongType, RejectionCodes.WrongType },
        { """{"event_id":"$m","room_id":"!room:hs.test","type":"m.room.message","content":{}}""", null, RejectionCodes.MissingField, RejectionCodes.MissingField },
        { $$$"""{"event_id":"$n","room_id":"!room:hs.test","type":"m.room.name","state_key":"","content":{"name":"N","pad":"{{{new string('x', 70_000)}}}"}}""", RejectionCodes.TooLarge, null, null },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void What_a_path_may_leave_out_is_its_shape_and_nothing_else(string json, string? pushed, string? snapshot, string? stripped)
    {
        var element = _bodies.Document(json).RootElement;

        string? Verdict(EventShape shape) => EventReader.Read(element, shape) is var r && r.Event is null ? r.Rejection!.Value.Code : null;

        Assert.Equal((pushed, snapshot, stripped),
            (Verdict(EventShape.Pushed(Bodies.MaxEventBytes)), Verdict(EventShape.Snapshot(Room)), Verdict(EventShape.Stripped(Room))));
    }

    [Fact]
    public void A_read_event_takes_the_room_the_request_named_and_stripped_state_has_no_event_id()
    {
        var element = _bodies.Document("""{"event_id":"$n","type":"m.room.name","state_key":"","sender":"@a:hs.test","content":{"name":"N"}}""").RootElement;

        var snapshot = EventReader.Read(element, EventShape.Snapshot(Room)).Event!;
        var stripped = EventReader.Read(element, EventShape.Stripped(Room)).Event!;

        Assert.Equal(("$n", Room, "@a:hs.test", ""), (snapshot.EventId, snapshot.RoomId, snapshot.Sender, snapshot.StateKey));
        Assert.Equal(("", Room, "@a:hs.test", ""), (stripped.EventId, stripped.RoomId, stripped.Sender, stripped.StateKey));
    }
}
