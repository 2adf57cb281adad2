using System.Text;
using System.Text.Json;
using AppService.Simulator.Homeserver;
using AppService.Simulator.Sending;
using AppService.Simulator.Workload;

namespace AppService.Simulator.Tests.Homeserver;

/// <summary>The live homeserver of homeserver mode: what it persists, pushes and answers, without a service.</summary>
public class HsWorldTests
{
    private const string Alice = "@alice:localhost";
    private const string Bob = "@bob:localhost";

    private static (HsWorld World, HsRoom Room) RoomWithBot(HomeserverMode mode = HomeserverMode.Synapse, bool joined = true)
    {
        var world = new HsWorld("t", Ev.Bot, mode);
        var room = world.AddRoom(0, "11", Alice);
        world.Append(room, "m.room.create", "", Alice, Json.Object(("room_version", "11")));
        world.Append(room, "m.room.member", Alice, Alice, Json.Object(("membership", "join")));
        world.Append(room, "m.room.power_levels", "", Alice, Json.Object(("users", new (string, object?)[] { (Alice, 100) }), ("redact", 50)));
        world.Append(room, "m.room.name", "", Alice, Json.Object(("name", "Before")));
        world.Append(room, "m.room.member", Ev.Bot, Alice, Json.Object(("membership", "invite")));
        if (joined)
        {
            Assert.Equal(200, world.Join(room.RoomId).Status);
        }
        world.Acknowledged(world.TakeForPush(1000)); // what was pushed so far is delivered
        return (world, room);
    }

    private static JsonElement Answer((int Status, byte[] Body) answer)
    {
        Assert.Equal(200, answer.Status);
        return JsonDocument.Parse(answer.Body).RootElement.Clone();
    }

    private static string? NameIn(JsonElement stateAnswer) => stateAnswer.EnumerateArray()
        .Where(e => e.GetProperty("type").GetString() == "m.room.name")
        .Select(e => e.GetProperty("content").GetProperty("name").GetString()).SingleOrDefault();

    [Fact]
    public void Only_the_bot_s_invite_is_pushed_before_it_joins_and_its_join_comes_from_POST_join()
    {
        var world = new HsWorld("t", Ev.Bot, HomeserverMode.Synapse);
        var room = world.AddRoom(0, "11", Alice);
        world.Append(room, "m.room.create", "", Alice, Json.Object(("room_version", "11")));
        world.Append(room, "m.room.member", Bob, Bob, Json.Object(("membership", "join")));
        world.Append(room, "m.room.member", Ev.Bot, Alice, Json.Object(("membership", "invite")));

        Assert.Equal(["invite"], world.TakeForPush(100).Select(e => HsRoom.MembershipOf(e)));
        var (status, _) = world.Join(room.RoomId);

        Assert.Equal(200, status);
        var pushed = Assert.Single(world.TakeForPush(100));
        Assert.Equal((Ev.Bot, Ev.Bot, "join"), (pushed.Sender, pushed.StateKey, HsRoom.MembershipOf(pushed)));
        Assert.Equal("join", room.BotMembership);
    }

    [Fact]
    public void A_snapshot_shows_state_persisted_but_not_pushed_yet()
    {
        var (world, room) = RoomWithBot();
        world.Append(room, "m.room.name", "", Alice, Json.Object(("name", "After")));

        Assert.Equal("After", NameIn(Answer(world.Snapshot(room.RoomId, "state"))));
        Assert.Equal(1, world.SnapshotsAheadOfPush);
        Assert.Equal(1, world.PendingPushes);
    }

    [Fact]
    public void A_soft_failed_event_is_pushed_flagged_with_the_current_id_as_replaces_state_and_changes_nothing()
    {
        var (world, room) = RoomWithBot();
        var current = room.State[("m.room.name", "")];

        var spam = world.Append(room, "m.room.name", "", Bob, Json.Object(("name", "Spam")), softFailed: true);

        Assert.Same(current, room.State[("m.room.name", "")]);
        Assert.Equal(current.EventId, spam.ReplacesState);
        var body = JsonDocument.Parse(EventSerializer.SerializeTransaction(world.TakeForPush(10), SendVariant.First)).RootElement;
        var unsigned = Assert.Single(body.GetProperty("events").EnumerateArray()).GetProperty("unsigned");
        Assert.True(unsigned.GetProperty("io.element.synapse.soft_failed").GetBoolean());
        Assert.Equal("Before", NameIn(Answer(world.Snapshot(room.RoomId, "state"))));
    }

    [Fact]
    public void Dendrite_pushes_neither_soft_failed_events_nor_redactions_and_resends_state_with_the_bot_s_join()
    {
        var (world, room) = RoomWithBot(HomeserverMode.Dendrite, joined: false);
        world.Join(room.RoomId);
        var pushed = world.TakeForPush(100);
        Assert.Equal("join", HsRoom.MembershipOf(pushed[0]));
        Assert.Contains(pushed, e => e.Type == "m.room.name"); // re-sent with the join

        world.Append(room, "m.room.name", "", Bob, Json.Object(("name", "Spam")), softFailed: true);
        var name = room.State[("m.room.name", "")];
        world.Append(room, "m.room.redaction", null, Alice, Json.Object(("redacts", name.EventId)), redacts: name.EventId);

        Assert.Empty(world.TakeForPush(100));
        Assert.True(room.HiddenSince.ContainsKey(("m.room.name", ""))); // only a snapshot shows the redaction
    }

    [Fact]
    public void A_state_reset_changes_the_current_event_with_nothing_in_the_stream()
    {
        var (world, room) = RoomWithBot();
        var before = room.State[("m.room.name", "")];
        world.Append(room, "m.room.name", "", Alice, Json.Object(("name", "After")));
        world.Acknowledged(world.TakeForPush(10));
        var streamLength = world.Stream.Count;

        world.ResetState(room, ("m.room.name", ""), before);

        Assert.Equal(streamLength, world.Stream.Count);
        Assert.Equal(0, world.PendingPushes);
        Assert.Equal("Before", NameIn(Answer(world.Snapshot(room.RoomId, "state"))));
        Assert.Equal(streamLength, room.HiddenSince[("m.room.name", "")]);
        var next = world.Append(room, "m.room.name", "", Alice, Json.Object(("name", "Next")));
        Assert.Equal(before.EventId, next.ReplacesState);
        Assert.False(room.HiddenSince.ContainsKey(("m.room.name", "")));
    }

    [Fact]
    public void A_bot_that_left_gets_the_state_as_of_its_leave_and_a_banned_or_never_joined_bot_gets_403()
    {
        var (world, room) = RoomWithBot();
        world.Append(room, "m.room.member", Ev.Bot, Alice, Json.Object(("membership", "leave")));
        world.Append(room, "m.room.name", "", Alice, Json.Object(("name", "After the kick")));

        var members = Answer(world.Snapshot(room.RoomId, "members")).GetProperty("chunk").EnumerateArray()
            .ToDictionary(e => e.GetProperty("state_key").GetString()!, e => e.GetProperty("content").GetProperty("membership").GetString());
        Assert.Equal("leave", members[Ev.Bot]);
        Assert.Equal("Before", NameIn(Answer(world.Snapshot(room.RoomId, "state"))));

        world.Append(room, "m.room.member", Ev.Bot, Alice, Json.Object(("membership", "ban")));
        Assert.Equal(403, world.Snapshot(room.RoomId, "state").Status);
        Assert.Equal(403, world.Join(room.RoomId).Status);

        var (neverJoined, other) = RoomWithBot(joined: false);
        Assert.Equal(403, neverJoined.Snapshot(other.RoomId, "members").Status);
        Assert.Equal(403, neverJoined.Snapshot(other.RoomId, "joined_members").Status);
    }

    [Fact]
    public void Joined_members_lists_joined_users_with_their_profiles()
    {
        var (world, room) = RoomWithBot();
        world.Append(room, "m.room.member", Bob, Bob, Json.Object(("membership", "join"), ("displayname", "Bob"), ("avatar_url", "mxc://localhost/b")));
        world.Append(room, "m.room.member", "@carol:localhost", Alice, Json.Object(("membership", "invite")));

        var joined = Answer(world.Snapshot(room.RoomId, "joined_members")).GetProperty("joined");

        Assert.Equal(new[] { Alice, Bob, Ev.Bot }.Order(StringComparer.Ordinal), joined.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("Bob", joined.GetProperty(Bob).GetProperty("display_name").GetString());
        Assert.Equal("mxc://localhost/b", joined.GetProperty(Bob).GetProperty("avatar_url").GetString());
        Assert.Equal([room.RoomId], world.JoinedRooms());
    }

    [Fact]
    public void The_generator_is_deterministic_for_a_seed_and_injects_every_fault_kind()
    {
        static (string, IReadOnlyDictionary<string, int>) Generate(long seed)
        {
            var world = new HsWorld("g", Ev.Bot, HomeserverMode.Synapse);
            var generator = new HsGenerator(world, rooms: 6, users: 30, SeededRandom.For(seed, "homeserver"));
            for (var i = 0; i < 1500; i++)
            {
                generator.Step();
                foreach (var roomId in world.Rooms.Keys.Where(r => world.Rooms[r].BotMembership == "invite").ToList())
                {
                    world.Join(roomId); // the service accepts every invite at once
                }
            }
            var stream = new StringBuilder();
            foreach (var e in world.Stream)
            {
                stream.Append(e.EventId).Append(e.Type).Append(e.StateKey).Append(Encoding.UTF8.GetString(e.Content)).Append('\n');
            }
            return (stream.ToString(), world.Injected);
        }

        var (first, injected) = Generate(7);
        var (again, _) = Generate(7);
        var (other, _) = Generate(8);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        foreach (var kind in new[] { "soft-failed events", "state resets", "redactions of state", "bot kicked", "bot banned", "bot re-invited", "bot joins through POST /join" })
        {
            Assert.True(injected.GetValueOrDefault(kind) > 0, $"no '{kind}' in 1500 steps: {string.Join(", ", injected)}");
        }
    }
}
