using System.Text.Json.Nodes;
using AppService.Matrix;
using AppService.Projections;
using static AppService.Tests.Projections.Events;

namespace AppService.Tests.Projections;

/// <summary>
/// Issue 16 point 5: the create event never changes, so neither does what we know of it. A resync whose snapshot holds
/// a redacted create (room v1-v10 keep only <c>creator</c>) must not make the room version "1" nor clear the room type
/// and predecessor, the same as a pushed redaction of the create; with nothing known, a redacted create gives no version.
/// </summary>
public sealed class CreateEventTests : IDisposable
{
    private const string Evil = "@evil:evil.test";

    private readonly Events _events = new();

    public void Dispose() => _events.Dispose();

    private static readonly RoomInfo Known = new(Room)
    {
        RoomVersion = "10",
        Creator = Alice,
        Creators = [Alice],
        RoomType = "m.space",
        PredecessorRoomId = "!old:hs.test",
        BotMembership = Memberships.Join,
        StateSource = StateSources.Homeserver,
    };

    /// <summary>The create as a v1-v10 server serves it once redacted: only <c>creator</c> left, marked by <c>redacted_because</c>.</summary>
    private MatrixEvent RedactedCreate(string sender = Alice) => _events.State(
        EventTypes.Create,
        new JsonObject { ["creator"] = sender },
        sender: sender,
        eventId: "$create",
        unsigned: new JsonObject { ["redacted_because"] = new JsonObject { ["type"] = "m.room.redaction", ["redacts"] = "$create", ["sender"] = Alice } });

    private RoomInfo Resynced(RoomInfo room, MatrixEvent create) =>
        Resync.Plan(room, [_events.Member(Bot, Memberships.Join, eventId: "$bot")], [create], [], [], Bot, keepSetSince: 10, snapshotAt: Now, Now).Room;

    [Theory]
    [InlineData(null)]
    [InlineData(StateSources.Homeserver)]
    public void A_resync_with_a_redacted_create_keeps_the_known_version_type_predecessor_and_creators(string? source)
    {
        var room = Resynced(Known with { StateSource = source }, RedactedCreate());

        Assert.Equal(("10", "m.space", "!old:hs.test", Alice), (room.RoomVersion, room.RoomType, room.PredecessorRoomId, room.Creator));
        Assert.Equal([Alice], room.Creators!);
    }

    [Fact]
    public void The_push_and_the_resync_agree_on_what_a_redacted_create_keeps()
    {
        var pushed = Redaction.Apply(Known, EventTypes.Create, Now);
        var resynced = Resynced(Known, RedactedCreate());

        Assert.Equal(
            (pushed.RoomVersion, pushed.RoomType, pushed.PredecessorRoomId, pushed.Creator, pushed.Creators),
            (resynced.RoomVersion, resynced.RoomType, resynced.PredecessorRoomId, resynced.Creator, resynced.Creators));
    }

    [Fact]
    public void A_later_create_never_overwrites_the_known_one()
    {
        var other = _events.State(EventTypes.Create, new JsonObject { ["room_version"] = "12", ["type"] = "m.other" }, sender: Evil);

        Assert.Same(Known, RoomInfoProjector.Apply(Known, other, Now));
    }

    [Fact]
    public void With_nothing_known_a_redacted_create_gives_no_version_not_version_1()
    {
        var room = Resynced(new RoomInfo(Room), RedactedCreate());

        Assert.Null(room.RoomVersion);
        Assert.Equal(RoomRules.Unknown, RoomVersions.RulesOf(room.RoomVersion));
        Assert.Equal(Alice, room.Creator);
    }

    [Fact]
    public void An_unredacted_create_without_a_room_version_is_still_version_1() =>
        Assert.Equal("1", RoomInfoProjector.Apply(new RoomInfo(Room), _events.State(EventTypes.Create, new JsonObject { ["creator"] = Alice }), Now).RoomVersion);

    [Fact]
    public void A_redacted_create_of_room_v11_or_later_keeps_its_whole_content_and_is_read_as_it_is()
    {
        var create = _events.State(
            EventTypes.Create,
            new JsonObject { ["room_version"] = "12", ["type"] = "m.space" },
            sender: Alice,
            unsigned: new JsonObject { ["redacted_because"] = new JsonObject() });

        var room = Resynced(new RoomInfo(Room), create);

        Assert.Equal(("12", "m.space"), (room.RoomVersion, room.RoomType));
    }

    [Fact]
    public void Create_fields_from_stripped_state_are_replaced_by_the_resyncs_create()
    {
        var stripped = new RoomInfo(Room) { RoomVersion = "12", Creator = Evil, Creators = [Evil], RoomType = "m.space", StateSource = StateSources.Stripped };

        var unredacted = Resynced(stripped, _events.State(EventTypes.Create, new JsonObject { ["room_version"] = "10", ["creator"] = Alice }, sender: Alice));
        var redacted = Resynced(stripped, RedactedCreate());

        Assert.Equal(("10", Alice, null), (unredacted.RoomVersion, unredacted.Creator, unredacted.RoomType));
        Assert.Equal([Alice], unredacted.Creators!);
        Assert.Equal((null, Alice), (redacted.RoomVersion, redacted.Creator));
        Assert.Equal([Alice], redacted.Creators!);
    }
}
