using System.Text.Json.Nodes;
using AppService.Matrix;
using AppService.Projections;
using static AppService.Tests.Projections.Events;

namespace AppService.Tests.Projections;

/// <summary>The resync as a pure function: what replaces what, and the race rule for rows newer than the snapshot.</summary>
public sealed class ResyncPlanTests : IDisposable
{
    // Processing order: the resync takes FetchStarted from the sequence before it fetches; events take others.
    private const long FetchStarted = 1000;
    private const long Before = 900;
    private const long After = 1001;
    private static readonly DateTimeOffset FetchStartedAt = Now.AddSeconds(-5);

    private readonly Events _events = new();

    public void Dispose() => _events.Dispose();

    private static ResyncPlan Plan(RoomInfo room, MatrixEvent[] members, MatrixEvent[] state, SeenMember[] seenMembers, SeenState[]? seenState = null) =>
        Resync.Plan(room, members, state, seenMembers, seenState ?? [], Bot, keepSetSince: FetchStarted, snapshotAt: FetchStartedAt, Now);

    [Fact]
    public void The_snapshot_replaces_the_member_list_writing_only_rows_that_change()
    {
        var room = new RoomInfo(Room) { BotMembership = Memberships.Join };
        var plan = Plan(
            room,
            [
                _events.Member(Bot, Memberships.Join, eventId: "$bot"),
                _events.Member(Alice, Memberships.Join, content: Profile("Alice"), eventId: "$alice"),
                _events.Member(Bob, Memberships.Leave, eventId: "$bob-left"),
            ],
            [],
            [
                new SeenMember(Row(Bot, Memberships.Join, "$bot") with { Sender = Bot }, Before),
                new SeenMember(Row(Carol, Memberships.Join, "$carol-stale"), Before),
                new SeenMember(Row(Bob, Memberships.Join, "$bob-joined"), null),
            ],
            []);

        Assert.Equal([(Alice, Memberships.Join, "Alice"), (Bob, Memberships.Leave, null)],
            plan.MemberUpserts.Select(m => (m.UserId, m.Membership, m.DisplayName)));
        Assert.Equal([Carol], plan.MemberDeletes);
        Assert.Equal(0, plan.KeptNewer);

        // Member keys are the member rows (room_members.event_id): room_state is neither written nor deleted for them.
        Assert.Empty(plan.StateUpserts);
        Assert.Empty(plan.StateDeletes);
        Assert.Equal(["$alice", "$bob-left", "$bot"], plan.CurrentEventIds.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_member_row_set_by_an_event_processed_after_the_fetch_started_survives()
    {
        var plan = Plan(
            new RoomInfo(Room) { BotMembership = Memberships.Join },
            [
                _events.Member(Alice, Memberships.Join, content: Profile("Old name"), eventId: "$alice-1"),
                _events.Member(Bob, Memberships.Join, eventId: "$bob-1"),
            ],
            [],
            [
                new SeenMember(Row(Alice, Memberships.Join, "$alice-2", displayname: "New name"), After),
                new SeenMember(Row(Carol, Memberships.Join, "$carol-joined"), FetchStarted + 1),
                new SeenMember(Row(Bob, Memberships.Join, "$bob-0"), FetchStarted - 1),
            ]);

        Assert.Equal([Bob], plan.MemberUpserts.Select(m => m.UserId));
        Assert.Empty(plan.MemberDeletes);
        Assert.Equal(2, plan.KeptNewer);
        Assert.Empty(plan.StateUpserts);
        Assert.Empty(plan.StateDeletes);
    }

    [Fact]
    public void A_snapshot_event_under_a_kept_newer_row_is_not_among_the_ids_to_record_as_processed()
    {
        // The homeserver's snapshot already shows $alice-3 (newer than the $alice-2 pushed during the fetch); $alice-3
        // is still on its way to us and must not be recorded as processed, or its push would be a "duplicate".
        var plan = Plan(
            new RoomInfo(Room) { BotMembership = Memberships.Join },
            [
                _events.Member(Alice, Memberships.Join, content: Profile("Newest"), eventId: "$alice-3"),
                _events.Member(Bob, Memberships.Join, eventId: "$bob-1"),
            ],
            [],
            [new SeenMember(Row(Alice, Memberships.Join, "$alice-2", displayname: "Newer"), After)]);

        Assert.DoesNotContain("$alice-3", plan.CurrentEventIds);
        Assert.Contains("$bob-1", plan.CurrentEventIds);
        Assert.Contains("$alice-2", plan.CurrentEventIds);
    }

    [Fact]
    public void Room_info_comes_from_the_snapshot_and_absent_state_clears_its_field()
    {
        var room = new RoomInfo(Room)
        {
            Name = "Stripped name",
            Topic = "Old topic",
            BotMembership = Memberships.Join,
            StateSource = StateSources.Stripped,
            Suspect = true,
        };
        var plan = Plan(
            room,
            [_events.Member(Bot, Memberships.Join, eventId: "$bot")],
            [
                _events.State(EventTypes.Create, new JsonObject { ["room_version"] = "11" }, sender: Alice, eventId: "$create"),
                _events.State(EventTypes.Name, new JsonObject { ["name"] = "Real name" }, eventId: "$name"),
                _events.State("m.room.power_levels", new JsonObject { ["users_default"] = 0 }, eventId: "$pl"),
                _events.Member(Alice, Memberships.Join, eventId: "$ignored-members-come-from-members"),
            ],
            []);

        var next = plan.Room;
        Assert.Equal(("Real name", null, "11", Alice), (next.Name, next.Topic, next.RoomVersion, next.Creator));
        Assert.Equal((StateSources.Homeserver, false, (DateTimeOffset?)FetchStartedAt, Now), (next.StateSource, next.Suspect, next.LastSyncedAt, next.UpdatedAt));
        Assert.Equal(
            [(EventTypes.Create, "", "$create"), (EventTypes.Name, "", "$name"), ("m.room.power_levels", "", "$pl")],
            plan.StateUpserts.Select(s => (s.Key.Type, s.Key.StateKey, s.Value)).Order());
        Assert.Contains("$bot", plan.CurrentEventIds); // the bot's member row: recorded as processed, not in room_state
    }

    [Fact]
    public void A_room_info_field_set_by_an_event_newer_than_the_snapshot_survives()
    {
        var room = new RoomInfo(Room) { Name = "Pushed after the fetch", Topic = "Stale topic", BotMembership = Memberships.Join };
        var plan = Plan(
            room,
            [],
            [
                _events.State(EventTypes.Name, new JsonObject { ["name"] = "Snapshot name" }, eventId: "$name-old"),
                _events.State(EventTypes.Topic, new JsonObject { ["topic"] = "Snapshot topic" }, eventId: "$topic"),
            ],
            [],
            [new SeenState(EventTypes.Name, "", "$name-new", After), new SeenState(EventTypes.Topic, "", "$topic-old", Before)]);

        Assert.Equal(("Pushed after the fetch", "Snapshot topic"), (plan.Room.Name, plan.Room.Topic));
        Assert.Equal([(EventTypes.Topic, "", "$topic")], plan.StateUpserts.Select(s => (s.Key.Type, s.Key.StateKey, s.Value)));
        Assert.Equal(1, plan.KeptNewer);
    }

    [Fact]
    public void State_ids_missing_from_the_snapshot_are_deleted_unless_newer()
    {
        var plan = Plan(
            new RoomInfo(Room) { BotMembership = Memberships.Join },
            [],
            [],
            [],
            [new SeenState("m.room.pinned_events", "", "$pins", Before), new SeenState("m.custom", "k", "$custom", After)]);

        Assert.Equal([("m.room.pinned_events", "")], plan.StateDeletes);
    }

    [Fact]
    public void The_bots_membership_follows_the_snapshot()
    {
        var plan = Plan(
            new RoomInfo(Room) { BotMembership = Memberships.Join },
            [_events.Member(Bot, Memberships.Join, content: Profile("Bot"), eventId: "$bot")],
            [],
            []);

        Assert.Equal(Memberships.Join, plan.Room.BotMembership);
        Assert.Equal(Bot, Assert.Single(plan.MemberUpserts).UserId);
    }
}
