using System.Text.Json.Nodes;
using AppService.Matrix;
using AppService.Projections;
using static AppService.Tests.Projections.Events;

namespace AppService.Tests.Projections;

/// <summary>The change log as a diff of rows as loaded against rows as written (no database).</summary>
public sealed class ChangeLogTests : IDisposable
{
    private readonly Events _events = new();
    private readonly ProjectionBatch _batch = new(Bot, Now);

    public void Dispose() => _events.Dispose();

    private ChangeSet Apply(params MatrixEvent[] events)
    {
        foreach (var e in events)
        {
            _batch.Apply(e);
        }

        return ChangeLog.ForIngest(_batch, events);
    }

    private void LoadJoined(params string[] userIds)
    {
        _batch.LoadRoom(new RoomInfo(Room) { Name = "Loaded", BotMembership = Memberships.Join, UpdatedAt = Earlier });
        foreach (string userId in userIds)
        {
            _events.LoadMember(_batch, new RoomMember(Room, userId, Memberships.Join) { DisplayName = "Same", EventId = $"$join-{userId}", Sender = userId, UpdatedAt = Earlier });
        }
    }

    [Fact]
    public void A_leave_is_one_member_change_with_the_membership_before_and_no_room_change()
    {
        LoadJoined(Alice);
        var leave = _events.Member(Alice, Memberships.Leave);

        var changes = Apply(leave);

        var change = Assert.Single(changes.Members);
        Assert.Equal((Memberships.Leave, Memberships.Join, leave.EventId, ChangeCauses.Event), (change.Row!.Membership, change.Before!.Membership, change.Row.EventId, change.Cause));
        Assert.Empty(changes.Rooms);
    }

    [Fact]
    public void A_name_change_lists_only_the_name_and_names_its_event()
    {
        LoadJoined();
        var name = _events.State(EventTypes.Name, new JsonObject { ["name"] = "New" });

        var room = Assert.Single(Apply(name).Rooms);

        Assert.Equal(["name"], room.Changed.Keys);
        Assert.Equal("New", room.Changed["name"]);
        Assert.Equal((name.EventId, ChangeCauses.Event), (room.EventId, room.Cause));
    }

    [Fact]
    public void A_state_event_that_sets_what_is_already_held_changes_nothing_in_the_room()
    {
        LoadJoined();

        Assert.Empty(Apply(_events.State(EventTypes.Name, new JsonObject { ["name"] = "Loaded" })).Rooms);
    }

    [Fact]
    public void A_new_room_is_a_room_change_with_every_field_it_has()
    {
        var changes = Apply(_events.State(EventTypes.Topic, new JsonObject { ["topic"] = "Hi" }));

        Assert.Equal(["topic"], Assert.Single(changes.Rooms).Changed.Keys);
    }

    [Fact]
    public void A_redaction_of_a_members_current_event_is_a_redaction_change()
    {
        _batch.LoadRoom(new RoomInfo(Room) { BotMembership = Memberships.Join, UpdatedAt = Earlier });
        _events.LoadMember(_batch, new RoomMember(Room, Alice, Memberships.Join) { DisplayName = "Alice", EventId = "$alice", Sender = Alice, UpdatedAt = Earlier });

        var changes = Apply(_events.Redaction("$alice"));

        var change = Assert.Single(changes.Members);
        Assert.Equal((Memberships.Join, (string?)null, "$alice", ChangeCauses.Redaction), (change.Row!.Membership, change.Row.DisplayName, change.Row.EventId, change.Cause));
    }

    [Fact]
    public void The_bot_leaving_logs_no_member_rows_of_its_own_the_purge_logs_them_from_the_table()
    {
        LoadJoined(Alice, Bob);
        var kick = _events.Member(Bot, Memberships.Leave, sender: Alice);

        var changes = Apply(_events.Member(Alice, Memberships.Leave), kick);

        Assert.Empty(changes.Members);
        Assert.Equal([(Room, kick.EventId)], ChangeLog.PurgeEvents(_batch, [kick]));
        Assert.Equal(Memberships.Leave, Assert.Single(changes.Rooms).Changed["bot_membership"]);
    }

    [Fact]
    public void A_member_added_after_the_purge_in_the_same_batch_has_no_row_before()
    {
        LoadJoined(Alice);
        var changes = Apply(_events.Member(Bot, Memberships.Leave, sender: Alice), _events.Member(Alice, Memberships.Join, sender: Alice));

        Assert.Null(Assert.Single(changes.Members).Before);
    }

    [Fact]
    public void A_resync_logs_its_deletes_and_only_the_upserts_that_change_what_a_change_reports()
    {
        var held = new RoomInfo(Room) { Name = "Old", BotMembership = Memberships.Join };
        var alice = new RoomMember(Room, Alice, Memberships.Join) { EventId = "$a", Sender = Alice };
        var bob = new RoomMember(Room, Bob, Memberships.Join) { EventId = "$b", Sender = Bob };
        var plan = new ResyncPlan(
            held with { Name = "New", Suspect = false },
            [alice with { Sender = "@other:hs.test" }, new RoomMember(Room, Carol, Memberships.Invite) { EventId = "$c", Sender = Alice }],
            [Bob],
            [],
            [],
            0);

        var changes = ChangeLog.ForResync(held, [new SeenMember(alice, 1), new SeenMember(bob, 2)], plan);

        Assert.Equal([(Bob, (string?)null, ChangeCauses.Resync), (Carol, Memberships.Invite, ChangeCauses.Resync)], changes.Members.Select(m => (m.UserId, m.Row?.Membership, m.Cause)));
        Assert.Equal(Memberships.Join, changes.Members[0].Before!.Membership);
        Assert.Equal(["name"], Assert.Single(changes.Rooms).Changed.Keys);
    }

    [Fact]
    public void Creators_are_compared_by_value()
    {
        var before = new RoomInfo(Room) { Creators = [Alice] };

        Assert.Empty(ChangeLog.Diff(before, before with { Creators = [Alice] }));
        Assert.Equal(["creators"], ChangeLog.Diff(before, before with { Creators = [Alice, Bob] }).Keys);
    }
}
