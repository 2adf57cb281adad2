using System.Text.Json.Nodes;
using AppService.Matrix;
using AppService.Projections;
using static AppService.Tests.Projections.Events;

namespace AppService.Tests.Projections;

/// <summary>What the projection batch asks of the homeserver, and how it reads invites and replaces_state.</summary>
public sealed class BotLifecycleBatchTests : IDisposable
{
    private readonly Events _events = new();
    private readonly ProjectionBatch _batch = new(Bot, Now);

    public void Dispose() => _events.Dispose();

    [Fact]
    public void The_bots_invite_queues_a_join_and_seeds_room_info_from_the_stripped_state_marked_unverified()
    {
        _batch.Apply(_events.BotInvite(
        [
            Stripped(EventTypes.Create, new JsonObject { ["room_version"] = "10", ["creator"] = Alice }),
            Stripped(EventTypes.Name, new JsonObject { ["name"] = "Test Room" }),
            Stripped(EventTypes.CanonicalAlias, new JsonObject { ["alias"] = "#test:hs.test" }),
            Stripped(EventTypes.JoinRules, new JsonObject { ["join_rule"] = "public" }),
            Stripped(EventTypes.Member, new JsonObject { ["membership"] = "join", ["displayname"] = "alice" }, stateKey: Alice),
        ]));

        var room = _batch.Room(Room)!;
        Assert.Equal(
            ("Test Room", "#test:hs.test", "public", "10", Alice, StateSources.Stripped, Memberships.Invite),
            (room.Name, room.CanonicalAlias, room.JoinRule, room.RoomVersion, room.Creator, room.StateSource, room.BotMembership));
        Assert.Equal(new JobRequest(JobKinds.Join, Room, JobReasons.Invite), Assert.Single(_batch.Jobs));

        // Stripped member entries carry no event id: they never become member rows.
        Assert.Equal([Bot], _batch.DirtyMembers.Select(m => m.UserId));
    }

    [Fact]
    public void Without_auto_join_the_invite_seeds_room_info_but_queues_nothing()
    {
        var batch = new ProjectionBatch(Bot, Now, autoJoin: false);

        batch.Apply(_events.BotInvite([Stripped(EventTypes.Name, new JsonObject { ["name"] = "N" })]));

        Assert.Equal("N", batch.Room(Room)!.Name);
        Assert.Empty(batch.Jobs);
    }

    [Fact]
    public void Malformed_stripped_state_entries_are_skipped()
    {
        _batch.Apply(_events.BotInvite(
        [
            Stripped(EventTypes.Name, new JsonObject { ["name"] = 5 }),
            Stripped(EventTypes.Topic, new JsonObject { ["topic"] = "t" }, stateKey: "not-empty"),
            new JsonObject { ["type"] = EventTypes.Avatar, ["state_key"] = "", ["content"] = "not an object" },
            new JsonObject { ["state_key"] = "", ["content"] = new JsonObject { ["name"] = "no type" } },
            Stripped(EventTypes.Create, new JsonObject { ["room_version"] = 5 }),
            Stripped(EventTypes.HistoryVisibility, new JsonObject { ["history_visibility"] = "shared" }),
        ]));

        var room = _batch.Room(Room)!;
        Assert.Equal((null, null, null, null, "shared"), (room.Name, room.Topic, room.AvatarUrl, room.RoomVersion, room.HistoryVisibility));
    }

    [Fact]
    public void An_invite_without_stripped_state_still_marks_the_room_unverified()
    {
        _batch.LoadRoom(new RoomInfo(Room) { Name = "Old", StateSource = StateSources.Homeserver, BotMembership = Memberships.Leave });

        _batch.Apply(_events.BotInvite());

        var room = _batch.Room(Room)!;
        Assert.Equal(("Old", StateSources.Stripped), (room.Name, room.StateSource));
    }

    [Fact]
    public void An_invite_of_another_user_asks_nothing_of_the_homeserver()
    {
        _batch.Apply(_events.Member(Carol, Memberships.Invite, sender: Alice));

        Assert.Empty(_batch.Jobs);
        Assert.Null(_batch.Room(Room)!.StateSource);
    }

    [Theory]
    [InlineData(Memberships.Invite)]
    [InlineData(Memberships.Leave)]
    public void The_bots_join_queues_a_resync(string previous)
    {
        _batch.LoadRoom(new RoomInfo(Room) { BotMembership = previous, LastSyncedAt = Now.AddDays(-1) });
        _events.LoadMember(_batch, Row(Bot, previous, "$before"));

        _batch.Apply(_events.Member(Bot, Memberships.Join));

        Assert.Equal(new JobRequest(JobKinds.Resync, Room, JobReasons.BotJoined), Assert.Single(_batch.Jobs));
        Assert.Equal(Memberships.Join, _batch.Room(Room)!.BotMembership);
    }

    [Fact]
    public void A_profile_change_of_the_bot_in_a_synced_room_queues_nothing()
    {
        _batch.LoadRoom(new RoomInfo(Room) { BotMembership = Memberships.Join, LastSyncedAt = Now.AddDays(-1) });
        _events.LoadMember(_batch, Row(Bot, Memberships.Join, "$join"));

        _batch.Apply(_events.Member(Bot, Memberships.Join, content: Profile("Bot")));

        Assert.Empty(_batch.Jobs);
    }

    [Fact]
    public void Any_join_event_of_the_bot_in_a_room_never_synced_queues_a_resync()
    {
        _batch.LoadRoom(new RoomInfo(Room) { BotMembership = Memberships.Join });
        _events.LoadMember(_batch, Row(Bot, Memberships.Join, "$join"));

        _batch.Apply(_events.Member(Bot, Memberships.Join, content: Profile("Bot")));

        Assert.Equal(JobKinds.Resync, Assert.Single(_batch.Jobs).Kind);
    }

    [Fact]
    public void Kick_then_reinvite_then_rejoin_in_one_batch_queues_a_join_and_a_resync_once_each()
    {
        _batch.LoadRoom(new RoomInfo(Room) { BotMembership = Memberships.Join, LastSyncedAt = Now.AddDays(-1) });
        _events.LoadMember(_batch, Row(Bot, Memberships.Join, "$join"));
        _events.LoadMember(_batch, Row(Alice, Memberships.Join, "$alice"));

        _batch.Apply(_events.Member(Bot, Memberships.Leave, sender: Alice));
        _batch.Apply(_events.BotInvite());
        _batch.Apply(_events.Member(Bot, Memberships.Join));

        Assert.Equal([Room], _batch.PurgedRooms);
        Assert.Equal([JobKinds.Join, JobKinds.Resync], _batch.Jobs.Select(j => j.Kind));
        Assert.Equal([Bot], _batch.DirtyMembers.Select(m => m.UserId));
    }

    [Fact]
    public void A_replaces_state_that_matches_the_held_event_is_applied_quietly()
    {
        _batch.LoadRoom(new RoomInfo(Room) { Name = "Old" });
        _batch.LoadState(Room, EventTypes.Name, "", "$old");

        _batch.Apply(_events.State(EventTypes.Name, new JsonObject { ["name"] = "New" }, unsigned: Replacing("$old")));

        var room = _batch.Room(Room)!;
        Assert.Equal(("New", false), (room.Name, room.Suspect));
        Assert.Empty(_batch.Mismatches);
        Assert.Empty(_batch.Jobs);
    }

    [Fact]
    public void A_replaces_state_that_differs_from_the_held_event_is_not_applied_marks_the_room_suspect_and_queues_one_resync()
    {
        _batch.LoadRoom(new RoomInfo(Room) { Name = "Old" });
        _batch.LoadState(Room, EventTypes.Name, "", "$held");
        _batch.LoadMember(Row(Alice, Memberships.Join, "$alice-held"));

        _batch.Apply(_events.State(EventTypes.Name, new JsonObject { ["name"] = "New" }, unsigned: Replacing("$missed"), eventId: "$new"));
        _batch.Apply(_events.Member(Alice, Memberships.Leave, unsigned: Replacing("$alice-missed")));

        var room = _batch.Room(Room)!;
        Assert.Equal(("Old", true), (room.Name, room.Suspect));
        Assert.Empty(_batch.StateWrites);
        Assert.Empty(_batch.DirtyMembers);
        Assert.Equal(
            new RoomStateMismatches(Room, 2, new StateMismatch(Room, EventTypes.Name, "", "$held", "$missed", "$new"), WasSuspect: false),
            Assert.Single(_batch.Mismatches));
        Assert.Equal(new JobRequest(JobKinds.Resync, Room, JobReasons.ReplacesState), Assert.Single(_batch.Jobs));
    }

    [Fact]
    public void A_replaces_state_for_a_key_we_hold_nothing_for_is_not_drift()
    {
        _batch.Apply(_events.State(EventTypes.Name, new JsonObject { ["name"] = "N" }, unsigned: Replacing("$created-before-the-invite")));

        Assert.False(_batch.Room(Room)!.Suspect);
        Assert.Empty(_batch.Jobs);
    }

    [Fact]
    public void Replaces_state_is_compared_with_an_event_applied_earlier_in_the_batch()
    {
        _batch.Apply(_events.State(EventTypes.Topic, new JsonObject { ["topic"] = "a" }, eventId: "$a"));
        _batch.Apply(_events.State(EventTypes.Topic, new JsonObject { ["topic"] = "b" }, unsigned: Replacing("$a")));

        Assert.Empty(_batch.Mismatches);
    }

    [Fact]
    public void After_the_bot_is_kicked_its_rejoin_does_not_compare_with_purged_member_ids()
    {
        _batch.LoadRoom(new RoomInfo(Room) { BotMembership = Memberships.Join });
        _events.LoadMember(_batch, Row(Bot, Memberships.Join, "$join"));

        _batch.Apply(_events.Member(Bot, Memberships.Leave, sender: Alice, unsigned: Replacing("$join"), eventId: "$kick"));
        _batch.Apply(_events.Member(Bot, Memberships.Join, unsigned: Replacing("$invite-we-never-saw")));

        Assert.Empty(_batch.Mismatches);
    }

    [Fact]
    public void A_tombstone_names_the_successor_and_a_create_with_predecessor_links_back()
    {
        _batch.Apply(_events.State(EventTypes.Tombstone, new JsonObject { ["replacement_room"] = "!new:hs.test", ["body"] = "upgraded" }));
        _batch.Apply(_events.State(EventTypes.Create,
            new JsonObject { ["room_version"] = "11", ["predecessor"] = new JsonObject { ["room_id"] = Room } },
            roomId: "!new:hs.test"));

        Assert.Equal("!new:hs.test", _batch.Room(Room)!.TombstoneSuccessor);
        Assert.Equal(Room, _batch.Room("!new:hs.test")!.PredecessorRoomId);
    }
}
