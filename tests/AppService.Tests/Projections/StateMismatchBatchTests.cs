using System.Text.Json.Nodes;
using AppService.Matrix;
using AppService.Projections;
using static AppService.Tests.Projections.Events;

namespace AppService.Tests.Projections;

/// <summary>
/// A stale room (after a state reset, or any time our state is behind) sends a mismatching replaces_state with every
/// state event: the batch reports it once per room, with a count and one example, and does no extra work per event.
/// </summary>
public sealed class StateMismatchBatchTests : IDisposable
{
    private const string OtherRoom = "!other:hs.test";

    private readonly Events _events = new();
    private readonly ProjectionBatch _batch = new(Bot, Now);

    public void Dispose() => _events.Dispose();

    [Fact]
    public void Fifty_three_mismatching_state_events_of_one_room_are_one_entry_with_their_count_and_the_first_as_example()
    {
        _batch.LoadRoom(new RoomInfo(Room));
        var users = Enumerable.Range(0, 53).Select(i => $"@user{i}:hs.test").ToList();
        foreach (string user in users)
        {
            _batch.LoadMember(Row(user, Memberships.Join, $"$held-{user}"));
        }

        foreach (string user in users)
        {
            _batch.Apply(_events.Member(user, Memberships.Join, unsigned: Replacing($"$missed-{user}"), eventId: $"$new-{user}"));
        }

        var entry = Assert.Single(_batch.Mismatches);
        Assert.Equal(
            new RoomStateMismatches(Room, 53, new StateMismatch(Room, EventTypes.Member, users[0], $"$held-{users[0]}", $"$missed-{users[0]}", $"$new-{users[0]}"), WasSuspect: false),
            entry);
        Assert.True(_batch.Room(Room)!.Suspect);
        Assert.Equal(new JobRequest(JobKinds.Resync, Room, JobReasons.ReplacesState), Assert.Single(_batch.Jobs));
    }

    [Fact]
    public void A_room_already_suspect_is_not_rewritten_for_its_mismatches_but_still_asks_for_its_resync()
    {
        var suspect = new RoomInfo(Room) { Suspect = true, UpdatedAt = Earlier };
        _batch.LoadRoom(suspect);
        _batch.LoadMember(Row(Alice, Memberships.Join, "$alice-held"));
        _batch.LoadMember(Row(Bob, Memberships.Join, "$bob-held"));

        _batch.Apply(_events.Member(Alice, Memberships.Join, unsigned: Replacing("$alice-missed")));
        _batch.Apply(_events.Member(Bob, Memberships.Join, unsigned: Replacing("$bob-missed")));

        var entry = Assert.Single(_batch.Mismatches);
        Assert.Equal((2, true), (entry.Count, entry.WasSuspect));
        Assert.Empty(_batch.DirtyRooms); // the row already says suspect: no write, updated_at kept
        Assert.Same(suspect, _batch.Room(Room));
        Assert.Equal(new JobRequest(JobKinds.Resync, Room, JobReasons.ReplacesState), Assert.Single(_batch.Jobs));
    }

    [Fact]
    public void Mismatches_in_two_rooms_are_two_entries_in_the_order_the_rooms_first_mismatched()
    {
        _batch.LoadRoom(new RoomInfo(Room));
        _batch.LoadRoom(new RoomInfo(OtherRoom));
        _batch.LoadState(OtherRoom, EventTypes.Topic, "", "$other-topic");
        _batch.LoadState(Room, EventTypes.Topic, "", "$topic");
        _batch.LoadState(Room, EventTypes.Name, "", "$name");

        _batch.Apply(_events.State(EventTypes.Topic, new JsonObject { ["topic"] = "t" }, roomId: OtherRoom, unsigned: Replacing("$x")));
        _batch.Apply(_events.State(EventTypes.Topic, new JsonObject { ["topic"] = "t" }, unsigned: Replacing("$y")));
        _batch.Apply(_events.State(EventTypes.Name, new JsonObject { ["name"] = "n" }, unsigned: Replacing("$z")));

        Assert.Equal([(OtherRoom, 1), (Room, 2)], _batch.Mismatches.Select(m => (m.RoomId, m.Count)));
        Assert.Equal([OtherRoom, Room], _batch.Jobs.Select(j => j.RoomId).Order(StringComparer.Ordinal));
    }
}
