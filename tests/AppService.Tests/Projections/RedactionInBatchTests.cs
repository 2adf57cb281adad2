using System.Text.Json.Nodes;
using AppService.Matrix;
using AppService.Projections;
using static AppService.Tests.Projections.Events;

namespace AppService.Tests.Projections;

/// <summary>Redactions applied by the projection batch: the target is found through the current state ids.</summary>
public sealed class RedactionInBatchTests : IDisposable
{
    private readonly Events _events = new();
    private readonly ProjectionBatch _batch = new(Bot, Now);

    public void Dispose() => _events.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Redacting_the_current_name_event_loaded_from_room_state_clears_the_name(bool redactsInContent)
    {
        _batch.LoadRoom(new RoomInfo(Room) { Name = "Secret plans", Topic = "Kept" });
        _batch.LoadState(Room, EventTypes.Name, "", "$name", Alice);

        _batch.Apply(_events.Redaction("$name", redactsInContent));

        var room = _batch.Room(Room)!;
        Assert.Equal((null, "Kept"), (room.Name, room.Topic));
        Assert.Contains(room, _batch.DirtyRooms);
        Assert.Equal((Room, EventTypes.Name, "", "$name"), Assert.Single(_batch.Redactions));
    }

    [Fact]
    public void Redacting_an_event_applied_earlier_in_the_same_transaction_clears_what_it_set()
    {
        _batch.Apply(_events.State(EventTypes.Topic, new JsonObject { ["topic"] = "oops" }, eventId: "$topic"));
        _batch.Apply(_events.Member(Alice, Memberships.Join, content: Profile("Real Name"), eventId: "$alice"));

        _batch.Apply(_events.Redaction("$topic"));
        _batch.Apply(_events.Redaction("$alice", inContent: true));

        Assert.Null(_batch.Room(Room)!.Topic);
        var alice = _batch.Member(Room, Alice)!;
        Assert.Equal((Memberships.Join, null, "$alice"), (alice.Membership, alice.DisplayName, alice.EventId));
        Assert.DoesNotContain((Room, EventTypes.Member, Alice), _batch.StateWrites.Keys); // the member row holds the key
    }

    [Fact]
    public void Redacting_a_members_current_event_keeps_the_membership_and_clears_the_profile()
    {
        _batch.LoadRoom(new RoomInfo(Room));
        _batch.LoadMember(Row(Alice, Memberships.Join, "$alice", displayname: "Alice") with { AvatarUrl = "mxc://hs.test/a" });

        _batch.Apply(_events.Redaction("$alice"));

        var alice = Assert.Single(_batch.DirtyMembers);
        Assert.Equal((Alice, Memberships.Join, null, null, "$alice"), (alice.UserId, alice.Membership, alice.DisplayName, alice.AvatarUrl, alice.EventId));
    }

    [Fact]
    public void Redacting_a_superseded_state_event_changes_nothing()
    {
        _batch.Apply(_events.State(EventTypes.Name, new JsonObject { ["name"] = "First" }, eventId: "$first"));
        _batch.Apply(_events.State(EventTypes.Name, new JsonObject { ["name"] = "Second" }, eventId: "$second"));

        _batch.Apply(_events.Redaction("$first"));

        Assert.Equal("Second", _batch.Room(Room)!.Name);
        Assert.Empty(_batch.Redactions);
    }

    [Fact]
    public void Redacting_a_message_or_an_unknown_event_changes_nothing()
    {
        _batch.LoadRoom(new RoomInfo(Room) { Name = "Name" });

        _batch.Apply(_events.Message());
        _batch.Apply(_events.Redaction("$unknown"));

        Assert.Equal("Name", _batch.Room(Room)!.Name);
        Assert.Empty(_batch.Redactions);
        Assert.Empty(_batch.DirtyRooms);
    }

    [Fact]
    public void A_redaction_in_another_room_does_not_touch_this_rooms_state()
    {
        _batch.LoadRoom(new RoomInfo(Room) { Name = "Name" });
        _batch.LoadState(Room, EventTypes.Name, "", "$name", Alice);

        _batch.Apply(_events.Redaction("$name", roomId: "!other:hs.test"));

        Assert.Equal("Name", _batch.Room(Room)!.Name);
        Assert.Empty(_batch.Redactions);
    }

    [Fact]
    public void Redacting_join_rules_or_the_create_event_keeps_their_fields()
    {
        _batch.LoadRoom(new RoomInfo(Room) { JoinRule = "invite", RoomVersion = "11", Creator = Alice });
        _batch.LoadState(Room, EventTypes.JoinRules, "", "$rules", Alice);
        _batch.LoadState(Room, EventTypes.Create, "", "$create", Alice);

        _batch.Apply(_events.Redaction("$rules"));
        _batch.Apply(_events.Redaction("$create"));

        var room = _batch.Room(Room)!;
        Assert.Equal(("invite", "11", Alice), (room.JoinRule, room.RoomVersion, room.Creator));
        Assert.Equal(2, _batch.Redactions.Count);
    }

    [Fact]
    public void A_state_redaction_asks_a_running_resync_to_fetch_again_unless_one_is_queued_anyway()
    {
        _batch.LoadRoom(new RoomInfo(Room) { Name = "Name" });
        _batch.LoadState(Room, EventTypes.Name, "", "$name", Alice);
        _batch.Apply(_events.Redaction("$name"));
        Assert.Equal([Room], _batch.RerunResyncRooms);

        _batch.LoadState(Room, EventTypes.Topic, "", "$topic");
        _batch.Apply(_events.State(EventTypes.Topic, new JsonObject { ["topic"] = "t" }, unsigned: Replacing("$other")));

        Assert.Empty(_batch.RerunResyncRooms);
        Assert.Equal(JobKinds.Resync, Assert.Single(_batch.Jobs).Kind);
    }

    [Fact]
    public void A_redaction_of_a_message_we_processed_does_not_ask_a_running_resync_to_fetch_again()
    {
        // It cannot change what a snapshot writes; counted, message deletions in a busy room could keep a resync
        // fetching for ever.
        _batch.LoadRoom(new RoomInfo(Room) { Topic = "Old" });
        _batch.LoadProcessedTarget("$message", isState: false);

        _batch.Apply(_events.Redaction("$message"));

        Assert.Empty(_batch.NewPendingRedactions);
        Assert.Empty(_batch.RerunResyncRooms);
    }

    [Fact]
    public void A_redaction_of_an_event_we_did_not_apply_still_asks_a_running_resync_to_fetch_again()
    {
        // The target was processed but never became current here (it did not follow what we held: the room is
        // suspect), so the redaction changes no projection; a resync fetching meanwhile may still see it unredacted.
        _batch.LoadRoom(new RoomInfo(Room) { Topic = "Old" });
        _batch.LoadState(Room, EventTypes.Topic, "", "$old", Alice);
        _batch.LoadProcessedTarget("$spam", isState: true);

        _batch.Apply(_events.Redaction("$spam"));

        Assert.Equal("Old", _batch.Room(Room)!.Topic);
        Assert.Empty(_batch.Redactions);
        Assert.Empty(_batch.NewPendingRedactions);
        Assert.Equal([Room], _batch.RerunResyncRooms);
    }

    [Fact]
    public void A_redaction_of_an_event_we_never_saw_is_remembered_and_asks_a_running_resync_to_fetch_again()
    {
        _batch.LoadRoom(new RoomInfo(Room));

        _batch.Apply(_events.Redaction("$unseen"));

        Assert.Equal("$unseen", Assert.Single(_batch.NewPendingRedactions).TargetEventId);
        Assert.Equal([Room], _batch.RerunResyncRooms);
    }
}
