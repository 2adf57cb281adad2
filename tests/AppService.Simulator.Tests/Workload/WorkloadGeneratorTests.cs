using AppService.Simulator.Oracle;
using AppService.Simulator.Workload;
using SimWorkload = AppService.Simulator.Workload.Workload;

namespace AppService.Simulator.Tests.Workload;

public class WorkloadGeneratorTests
{
    private const string Bot = "@bot:localhost";
    private static readonly Lazy<SimWorkload> Shared = new(() => WorkloadGenerator.Generate(new WorkloadOptions { Events = 6000, Rooms = 20, Users = 150, Seed = 7 }));

    private static SimWorkload W => Shared.Value;

    private static string Fingerprint(SimWorkload w) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            w.Stream.SelectMany(e => EventSerializer.Serialize(e).Append((byte)(e.Pushed ? 1 : 0))).ToArray()));

    [Fact]
    public void Same_seed_gives_the_same_workload()
    {
        var options = new WorkloadOptions { Events = 3000, Rooms = 10, Users = 60, Seed = 42 };

        Assert.Equal(Fingerprint(WorkloadGenerator.Generate(options)), Fingerprint(WorkloadGenerator.Generate(options)));
    }

    [Fact]
    public void Different_seeds_give_different_workloads()
    {
        var a = WorkloadGenerator.Generate(new WorkloadOptions { Events = 500, Rooms = 5, Users = 30, Seed = 1 });
        var b = WorkloadGenerator.Generate(new WorkloadOptions { Events = 500, Rooms = 5, Users = 30, Seed = 2 });

        Assert.NotEqual(Fingerprint(a), Fingerprint(b));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(250, 3)]
    [InlineData(6000, 20)]
    public void Exactly_the_requested_number_of_events_is_pushed(int events, int rooms)
    {
        var w = events == 6000 ? W : WorkloadGenerator.Generate(new WorkloadOptions { Events = events, Rooms = rooms, Users = 40, Seed = 3 });

        Assert.Equal(events, w.Pushed.Count());
        Assert.True(w.Stream[^1].Pushed);
    }

    [Fact]
    public void Event_ids_are_unique_and_follow_the_room_version()
    {
        var versions = W.Rooms.ToDictionary(r => r.RoomId, r => r.RoomVersion);

        Assert.Equal(W.Stream.Count, W.Stream.Select(e => e.EventId).Distinct().Count());
        foreach (var e in W.Stream)
        {
            var id = e.EventId!;
            switch (versions[e.RoomId!])
            {
                case "1" or "2":
                    Assert.EndsWith(":localhost", id, StringComparison.Ordinal);
                    break;
                case "3":
                    Assert.True(id.Length == 44 && (id.Contains('/', StringComparison.Ordinal) || id.Contains('+', StringComparison.Ordinal)), id);
                    break;
                default:
                    Assert.True(id.Length == 44 && !id.Contains('/', StringComparison.Ordinal) && !id.Contains('+', StringComparison.Ordinal), id);
                    break;
            }
        }
    }

    [Fact]
    public void The_workload_has_v3_event_ids_and_v12_room_ids()
    {
        Assert.Contains(W.Rooms, r => r.RoomVersion == "3");
        Assert.Contains(W.Pushed, e => MatrixIds.NeedsEscaping(e.EventId!));
        Assert.Contains(W.Rooms, r => r.RoomVersion == "12" && !r.RoomId.Contains(':', StringComparison.Ordinal));
        Assert.Contains(W.Users, u => MatrixIds.NeedsEscaping(u));
    }

    [Fact]
    public void Generated_events_are_never_poison()
    {
        Assert.All(W.Stream, e => Assert.Null(PoisonRules.Classify(e)));
    }

    [Fact]
    public void Every_bot_invite_carries_stripped_state_and_is_followed_by_the_bots_join()
    {
        var stream = W.Stream;
        var invites = 0;
        for (var i = 0; i < stream.Count - 1; i++)
        {
            var e = stream[i];
            if (e.Type == "m.room.member" && e.StateKey == Bot && HomeserverState.ReadString(e.Content, "membership") == "invite")
            {
                invites++;
                Assert.NotNull(e.InviteRoomState);
                Assert.True(e.Pushed);
                var next = stream[i + 1];
                Assert.Equal((Bot, Bot, "join", e.RoomId), (next.Sender, next.StateKey, HomeserverState.ReadString(next.Content, "membership"), next.RoomId));
            }
        }
        Assert.True(invites >= W.Rooms.Count / 2, $"{invites} bot invites");
    }

    [Fact]
    public void The_bot_is_invited_kicked_banned_and_reinvited()
    {
        var botEvents = W.Stream.Where(e => e.Type == "m.room.member" && e.StateKey == Bot)
            .Select(e => (e.RoomId, e.Sender, Membership: HomeserverState.ReadString(e.Content, "membership")))
            .ToList();

        Assert.Contains(botEvents, b => b.Membership == "leave" && b.Sender != Bot);
        Assert.Contains(botEvents, b => b.Membership == "ban");
        var kickedRooms = botEvents.Where(b => b.Membership is "leave" or "ban").Select(b => b.RoomId).ToHashSet();
        Assert.Contains(botEvents.GroupBy(b => b.RoomId), g => kickedRooms.Contains(g.Key)
            && g.SkipWhile(b => b.Membership is not ("leave" or "ban")).Any(b => b.Membership == "join"));
    }

    [Fact]
    public void Membership_transitions_are_ones_a_homeserver_allows()
    {
        var allowed = new HashSet<(string, string)>
        {
            ("leave", "invite"), ("leave", "join"), ("leave", "ban"), ("leave", "knock"),
            ("invite", "join"), ("invite", "leave"), ("invite", "ban"), ("join", "join"), ("join", "leave"), ("join", "ban"),
            ("ban", "leave"), ("knock", "invite"), ("knock", "leave"), ("knock", "ban"),
        };
        var current = new Dictionary<(string, string), string>();
        foreach (var e in W.Stream.Where(e => e.Type == "m.room.member"))
        {
            var key = (e.RoomId!, e.StateKey!);
            var previous = current.GetValueOrDefault(key, "leave");
            var next = HomeserverState.ReadString(e.Content, "membership")!;
            Assert.True(allowed.Contains((previous, next)), $"{previous} -> {next} for {e}");
            current[key] = next;
        }
    }

    [Fact]
    public void Every_kind_of_membership_change_and_state_change_happens()
    {
        var memberships = W.Pushed.Where(e => e.Type == "m.room.member").ToList();
        Assert.Contains(memberships, e => e.Sender != e.StateKey && HomeserverState.ReadString(e.Content, "membership") == "leave"); // kick
        Assert.Contains(memberships, e => e.Sender == e.StateKey && HomeserverState.ReadString(e.Content, "membership") == "leave");
        Assert.Contains(memberships, e => HomeserverState.ReadString(e.Content, "membership") == "knock");
        Assert.Contains(memberships, e => HomeserverState.ReadString(e.Content, "membership") == "ban");
        Assert.Contains(memberships, e => HomeserverState.ReadString(e.Content, "membership") == "invite");
        Assert.Contains(memberships, e => HomeserverState.ReadString(e.PrevContent ?? [], "membership") == "ban"
                                          && HomeserverState.ReadString(e.Content, "membership") == "leave"); // unban
        Assert.Contains(memberships, e => HomeserverState.ReadString(e.PrevContent ?? [], "membership") == "join"
                                          && HomeserverState.ReadString(e.Content, "membership") == "join"); // profile change
        foreach (var type in new[] { "m.room.create", "m.room.name", "m.room.topic", "m.room.canonical_alias", "m.room.avatar",
                     "m.room.encryption", "m.room.join_rules", "m.room.history_visibility", "m.room.redaction", "m.room.tombstone" })
        {
            Assert.True(W.Pushed.Any(e => e.Type == type), $"no pushed {type}");
        }
    }

    [Fact]
    public void Edge_cases_are_in_every_workload_of_a_thousand_events_or_more()
    {
        Assert.Contains(W.Pushed, e => e.Type == "m.room.name" && e.StateKey is { Length: > 0 });
        Assert.Contains(W.Pushed, e => e.Type == "m.room.topic" && e.StateKey is null);
        Assert.Contains(W.Pushed, e => e.Type == "m.room.name" && e.StateKey == "" && HomeserverState.ReadString(e.Content, "name") is null or "");
        Assert.Contains(W.Pushed, e => EventSerializer.SizeWithoutUnsigned(e) > 50_000);
    }

    [Fact]
    public void History_before_the_bot_is_not_pushed_unless_the_namespace_is_in_the_room()
    {
        var hidden = W.Stream.Where(e => !e.Pushed).ToList();

        Assert.NotEmpty(hidden);
        Assert.All(hidden, e => Assert.False(e.Sender == Bot || e.Sender.StartsWith("@_bot_", StringComparison.Ordinal)));
    }

    [Fact]
    public void Redactions_of_messages_point_back_at_earlier_messages()
    {
        var byId = W.Stream.ToDictionary(e => e.EventId!);
        var redactions = W.Stream.Where(e => e.Type == "m.room.redaction" && !byId[e.Redacts!].IsState).ToList();

        Assert.NotEmpty(redactions);
        Assert.All(redactions, r =>
        {
            var target = byId[r.Redacts!];
            Assert.True(target.Index < r.Index);
            Assert.Null(target.StateKey);
            Assert.Equal(r.Index, target.RedactedByIndex);
        });
    }

    [Fact]
    public void State_events_carry_the_content_and_event_id_they_replace()
    {
        var replaced = W.Stream.Where(e => e.ReplacesState is not null).ToList();

        Assert.NotEmpty(replaced);
        var byId = W.Stream.ToDictionary(e => e.EventId!);
        Assert.All(replaced.Take(500), e => Assert.Equal(byId[e.ReplacesState!].Content, e.PrevContent));
    }

    [Fact]
    public void Replaces_state_names_the_previous_event_of_its_key_in_the_homeservers_stream_pushed_or_not()
    {
        // What a homeserver sets: the service's stale-event rule compares it with what it holds, so an event pushed
        // after ones that were not (nobody of the namespace in the room) rightly names an event the service never saw.
        var last = new Dictionary<(string?, string?, string), string>();
        var skipping = 0;
        var lastPushed = new Dictionary<(string?, string?, string), string>();
        foreach (var e in W.Stream.Where(e => e.IsState && e.PoisonKind is null))
        {
            var key = (e.RoomId, e.Type, e.StateKey!);
            Assert.Equal(last.GetValueOrDefault(key), e.ReplacesState);
            last[key] = e.EventId!;
            if (e.Pushed)
            {
                if (lastPushed.TryGetValue(key, out var pushedBefore) && pushedBefore != e.ReplacesState)
                {
                    skipping++;
                }
                lastPushed[key] = e.EventId!;
            }
        }
        Assert.True(skipping > 0, "the workload never pushes an event of a key after one that was not pushed");
    }
}
