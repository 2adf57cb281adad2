using System.Text.Json.Nodes;
using AppService.Matrix;
using AppService.Projections;
using static AppService.Tests.Projections.Events;

namespace AppService.Tests.Projections;

/// <summary>
/// Issue 16: a pushed state event changes the projection only if it follows what we hold for its key; soft-failed
/// events never change it; a redaction that came before its target is applied when the target comes.
/// </summary>
public sealed class StaleEventRuleTests : IDisposable
{
    private readonly Events _events = new();
    private readonly ProjectionBatch _batch = new(Bot, Now);

    public void Dispose() => _events.Dispose();

    private static JsonObject NoReplacesState() => new() { ["replaces_state"] = null };

    [Fact]
    public void A_first_event_of_a_key_we_already_hold_is_stale_not_applied_and_makes_the_room_suspect()
    {
        _batch.LoadRoom(new RoomInfo(Room) { BotMembership = Memberships.Join, UpdatedAt = Earlier });
        _batch.LoadMember(Row(Alice, Memberships.Leave, "$alice-left")); // the member row is what we hold for the key

        _batch.Apply(_events.Member(Alice, Memberships.Join, unsigned: NoReplacesState(), eventId: "$alice-first-join"));

        Assert.Equal(Memberships.Leave, _batch.Member(Room, Alice)!.Membership);
        Assert.Empty(_batch.DirtyMembers);
        Assert.Empty(_batch.StateWrites);
        Assert.True(_batch.Room(Room)!.Suspect);
        var mismatch = Assert.Single(_batch.Mismatches).Example;
        Assert.Equal(("$alice-left", (string?)null, "$alice-first-join"), (mismatch.HeldEventId, mismatch.ReplacesEventId, mismatch.EventId));
        Assert.Equal(new JobRequest(JobKinds.Resync, Room, JobReasons.ReplacesState), Assert.Single(_batch.Jobs));
    }

    [Fact]
    public void An_event_that_follows_a_stale_one_in_the_same_batch_is_not_applied_either()
    {
        _batch.LoadRoom(new RoomInfo(Room) { Topic = "current", UpdatedAt = Earlier });
        _batch.LoadState(Room, EventTypes.Topic, "", "$t3");

        _batch.Apply(_events.State(EventTypes.Topic, new JsonObject { ["topic"] = "one" }, unsigned: NoReplacesState(), eventId: "$t1"));
        _batch.Apply(_events.State(EventTypes.Topic, new JsonObject { ["topic"] = "two" }, unsigned: Replacing("$t1"), eventId: "$t2"));

        Assert.Equal("current", _batch.Room(Room)!.Topic);
        Assert.Equal(2, Assert.Single(_batch.Mismatches).Count);
    }

    [Fact]
    public void The_bots_stale_kick_does_not_purge_the_room()
    {
        _batch.LoadRoom(new RoomInfo(Room) { BotMembership = Memberships.Join, LastSyncedAt = Earlier, UpdatedAt = Earlier });
        _batch.LoadMember(Row(Bot, Memberships.Join, "$bot-rejoin"));
        _batch.LoadMember(Row(Alice, Memberships.Join, "$alice"));

        _batch.Apply(_events.Member(Bot, Memberships.Leave, sender: Alice, unsigned: Replacing("$bot-first-join")));
        _batch.Apply(_events.Member(Bot, Memberships.Invite, sender: Alice, unsigned: Replacing("$the-kick")));

        Assert.Empty(_batch.PurgedRooms);
        Assert.Equal(Memberships.Join, _batch.Room(Room)!.BotMembership);
        Assert.DoesNotContain(_batch.Jobs, j => j.Kind == JobKinds.Join);
        Assert.Contains(_batch.Jobs, j => j.Kind == JobKinds.Resync);
    }

    [Theory]
    [InlineData(MatrixEvent.SoftFailedKey)]
    [InlineData(MatrixEvent.PolicyServerSpammyKey)]
    public void A_soft_failed_state_event_is_never_applied_and_is_counted(string flag)
    {
        _batch.LoadRoom(new RoomInfo(Room) { Name = "Real", UpdatedAt = Earlier });
        _batch.LoadState(Room, EventTypes.Name, "", "$name");

        var spam = _events.State(EventTypes.Name, new JsonObject { ["name"] = "SPAM" }, unsigned: new JsonObject { ["replaces_state"] = "$name", [flag] = true });
        _batch.Apply(spam);

        Assert.Equal(("Real", false), (_batch.Room(Room)!.Name, _batch.Room(Room)!.Suspect));
        Assert.Empty(_batch.StateWrites);
        Assert.Same(spam, Assert.Single(_batch.SoftFailed));
    }

    [Fact]
    public void A_soft_failed_flag_that_is_not_true_is_not_soft_failed()
    {
        var e = _events.State(EventTypes.Name, new JsonObject { ["name"] = "N" }, unsigned: new JsonObject { [MatrixEvent.SoftFailedKey] = "true" });
        Assert.False(e.IsSoftFailed);
        _batch.Apply(e);
        Assert.Equal("N", _batch.Room(Room)!.Name);
    }

    [Fact]
    public void A_soft_failed_redaction_redacts_nothing()
    {
        _batch.LoadRoom(new RoomInfo(Room) { Topic = "kept", UpdatedAt = Earlier });
        _batch.LoadState(Room, EventTypes.Topic, "", "$topic", Alice);

        var redaction = _events.Parse("""
            {"event_id":"$r","room_id":"!room:hs.test","type":"m.room.redaction","sender":"@alice:hs.test","redacts":"$topic",
             "content":{},"unsigned":{"io.element.synapse.soft_failed":true}}
            """);
        _batch.Apply(redaction);

        Assert.Equal("kept", _batch.Room(Room)!.Topic);
        Assert.Empty(_batch.Redactions);
    }

    [Fact]
    public void A_redaction_of_an_unknown_event_waits_and_applies_when_its_target_arrives_later_in_the_batch()
    {
        _batch.Apply(_events.Redaction("$topic"));
        Assert.Equal("$topic", Assert.Single(_batch.NewPendingRedactions).TargetEventId);

        _batch.Apply(_events.State(EventTypes.Topic, new JsonObject { ["topic"] = "secret" }, eventId: "$topic"));

        Assert.Null(_batch.Room(Room)!.Topic);
        Assert.Empty(_batch.NewPendingRedactions);
        Assert.Empty(_batch.ResolvedPendingRedactions);
    }

    [Fact]
    public void A_stored_pending_redaction_applies_to_its_target_and_is_resolved()
    {
        _batch.LoadPendingRedaction("$topic", Room, "$early-redaction", Alice);

        _batch.Apply(_events.State(EventTypes.Topic, new JsonObject { ["topic"] = "secret" }, eventId: "$topic"));

        Assert.Null(_batch.Room(Room)!.Topic);
        Assert.Equal(["$topic"], _batch.ResolvedPendingRedactions);
        Assert.Contains(_batch.Redactions, r => r.EventId == "$topic");
    }

    [Fact]
    public void A_redaction_of_an_event_processed_before_is_not_remembered()
    {
        _batch.LoadProcessedTarget("$old-message", isState: false);

        _batch.Apply(_events.Redaction("$old-message"));

        Assert.Empty(_batch.NewPendingRedactions);
    }

    [Fact]
    public void A_redaction_of_an_event_earlier_in_the_batch_that_is_not_state_is_not_remembered()
    {
        _batch.Apply(_events.Message(eventId: "$message"));
        _batch.Apply(_events.Redaction("$message"));

        Assert.Empty(_batch.NewPendingRedactions);
    }
}
