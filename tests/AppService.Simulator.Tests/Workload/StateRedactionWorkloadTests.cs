using AppService.Simulator.Oracle;
using AppService.Simulator.Workload;
using SimWorkload = AppService.Simulator.Workload.Workload;

namespace AppService.Simulator.Tests.Workload;

/// <summary>The workload's cross-server redactions of state (issue 9, rules 1–2) and the homeserver model's rule.</summary>
public class StateRedactionWorkloadTests
{
    private const string Remote = WorkloadGenerator.RemoteServer;
    private static readonly Lazy<SimWorkload> Shared = new(() => WorkloadGenerator.Generate(new WorkloadOptions { Events = 3000, Rooms = 20, Users = 120, Seed = 9 }));

    private static SimWorkload W => Shared.Value;

    private static bool IsRemote(string userId) => MatrixIds.Domain(userId) == Remote;

    private static List<(SimEvent Redaction, SimEvent Target)> StateRedactions(SimWorkload w)
    {
        var byId = w.Stream.ToDictionary(e => e.EventId!);
        return w.Stream.Where(e => e.Type == "m.room.redaction" && byId[e.Redacts!].IsState)
            .Select(e => (e, byId[e.Redacts!])).ToList();
    }

    /// <summary>Whether the homeserver model still holds the target's original content right after the redaction.</summary>
    private static bool Unchanged(SimWorkload w, SimEvent redaction, SimEvent target) =>
        w.ReplayTrueState(redaction.Index + 1).Rooms[target.RoomId!].State[(target.Type!, target.StateKey!)] is var now
        && now.EventId == target.EventId && now.Content.AsSpan().SequenceEqual(target.Content);

    [Fact]
    public void Users_on_a_second_server_join_rooms_and_their_v1_event_ids_carry_their_server()
    {
        Assert.Contains(W.Users, IsRemote);
        Assert.Contains(W.Stream, e => e.Type == "m.room.member" && IsRemote(e.StateKey!) && HomeserverState.ReadString(e.Content, "membership") == "join" && e.Pushed);
        var v1Rooms = W.Rooms.Where(r => r.RoomVersion is "1" or "2").Select(r => r.RoomId).ToHashSet();
        Assert.All(W.Stream.Where(e => v1Rooms.Contains(e.RoomId!)), e => Assert.Equal(MatrixIds.Domain(e.Sender), MatrixIds.Domain(e.EventId!)));
    }

    [Fact]
    public void A_powerless_remote_user_redacts_local_name_topic_avatar_and_profile_and_the_homeserver_keeps_them()
    {
        var powerless = StateRedactions(W).Where(p => IsRemote(p.Redaction.Sender) && !IsRemote(p.Target.Sender) && p.Redaction.Pushed).ToList();

        foreach (var type in new[] { "m.room.name", "m.room.topic", "m.room.avatar", "m.room.member" })
        {
            Assert.Contains(powerless, p => p.Target.Type == type);
        }
        Assert.All(powerless, p => Assert.True(Unchanged(W, p.Redaction, p.Target), $"{p.Target} was redacted by {p.Redaction.Sender}"));
    }

    [Fact]
    public void A_local_moderator_redacts_remote_state_and_encryption_and_the_homeserver_applies_it()
    {
        var byPower = StateRedactions(W).Where(p => !IsRemote(p.Redaction.Sender) && p.Redaction.Pushed).ToList();

        Assert.Contains(byPower, p => IsRemote(p.Target.Sender) && p.Target.Type == "m.room.topic");
        Assert.Contains(byPower, p => IsRemote(p.Target.Sender) && p.Target.Type == "m.room.member");
        Assert.Contains(byPower, p => p.Target.Type == "m.room.encryption");
        Assert.All(byPower, p => Assert.False(Unchanged(W, p.Redaction, p.Target), $"{p.Target} was not redacted by {p.Redaction.Sender}"));
        // What the redaction algorithm keeps: a member keeps its membership, encryption keeps nothing.
        var member = byPower.First(p => p.Target.Type == "m.room.member");
        var redacted = W.ReplayTrueState(member.Redaction.Index + 1).Rooms[member.Target.RoomId!].State[("m.room.member", member.Target.StateKey!)];
        Assert.Equal("join", HomeserverState.ReadString(redacted.Content, "membership"));
        Assert.Null(HomeserverState.ReadString(redacted.Content, "displayname"));
    }

    [Fact]
    public void Rooms_of_v1_v3_to_v11_and_v12_get_the_cross_server_redactions_when_the_bot_is_in_one()
    {
        var versions = StateRedactions(W).Where(p => IsRemote(p.Redaction.Sender))
            .Select(p => W.Rooms.First(r => r.RoomId == p.Target.RoomId).RoomVersion).ToHashSet();

        Assert.True(versions.Count >= 2, string.Join(",", versions));
    }

    [Fact]
    public void The_oracle_expects_what_the_homeserver_shows_after_the_state_redactions()
    {
        // Synapse-like: every pushed event in stream order. Room info of the rooms with cross-server redactions must
        // equal the homeserver's true state as the service can know it (encryption: rule 2 keeps the algorithm).
        var model = new ExpectedProjection(W.Options.BotUserId);
        foreach (var e in W.Stream.Where(e => e.Pushed))
        {
            model.Apply(e);
        }
        var truth = W.ReplayTrueState(W.Stream.Count);
        var rooms = StateRedactions(W).Where(p => IsRemote(p.Redaction.Sender)).Select(p => p.Target.RoomId!).ToHashSet();

        Assert.NotEmpty(rooms);
        foreach (var roomId in rooms)
        {
            var expected = model.Rooms[roomId];
            var room = truth.Rooms[roomId];
            string? Field(string type, string key) =>
                room.State.TryGetValue((type, ""), out var s) && HomeserverState.ReadString(s.Content, key) is { Length: > 0 } v ? v : null;
            Assert.Equal(Field("m.room.name", "name"), expected.Name);
            Assert.Equal(Field("m.room.topic", "topic"), expected.Topic);
            Assert.Equal(Field("m.room.avatar", "url"), expected.AvatarUrl);
            Assert.NotNull(expected.Encryption);
            foreach (var member in expected.Members.Values)
            {
                var state = room.State[("m.room.member", member.UserId)];
                Assert.Equal(HomeserverState.ReadString(state.Content, "displayname"), member.Displayname);
            }
        }
    }

    [Fact]
    public void Random_state_redactions_come_only_with_redact_state()
    {
        var options = new WorkloadOptions { Events = 3000, Rooms = 20, Users = 120, Seed = 9 };
        var with = WorkloadGenerator.Generate(options with { RedactState = true });

        Assert.True(StateRedactions(with).Count > StateRedactions(W).Count + 5);
        Assert.Equal(StateRedactions(W).Count, StateRedactions(WorkloadGenerator.Generate(options)).Count);
    }
}
