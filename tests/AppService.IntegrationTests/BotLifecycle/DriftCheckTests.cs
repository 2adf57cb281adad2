using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.BotLifecycle;

public sealed class DriftCheckTests(DriftCheckApplication app) : IClassFixture<DriftCheckApplication>
{
    [Fact]
    public async Task Drift_from_missed_events_is_found_counted_and_repaired_by_a_resync()
    {
        string room = NewRoomId();
        await app.JoinedAndSyncedRoomAsync(room, Member(room, Bob, "join", displayname: "Bob"));
        var clean = await app.WaitForJobAsync(room, "drift_check", j => j.Outcome == "done", "a drift check that finds nothing");
        long driftBefore = (await app.StatsAsync()).DriftDetected;

        // Events the homeserver never pushed (lost, or a Dendrite redaction): Alice left, Frank joined, Bob's
        // profile was redacted.
        app.Stub.SetState(room,
            Member(room, Alice, "leave"),
            Member(room, "@frank:test", "join", displayname: "Frank"),
            Member(room, Bob, "join"));

        // Only a check queued after the clean one: one that ran while the first resync was still being written can
        // have found a (then real) difference of its own.
        var drift = await app.WaitForJobAsync(room, "drift_check", j => j.Id > clean.Id && j.Outcome == "drift", "a drift check that finds the difference");
        Assert.Equal("1 missing (@frank:test), 1 extra (@alice:test), 1 with another profile (@bob:test); found: missed_events", drift.Detail);
        Assert.True((await app.StatsAsync()).DriftDetected > driftBefore);
        Assert.Contains(app.Logs.Lines, l => l.Contains($"Drift in {room}", StringComparison.Ordinal));

        await app.WaitForJobAsync(room, "resync", j => j.Id > drift.Id && j.Reason == "drift" && j.Outcome == "done", "the repairing resync");
        Assert.Equal(
            [(Alice, "leave", null), (Bob, "join", null), (AppService.IntegrationTests.Infrastructure.AppServiceApplication.BotUserId, "join", null), ("@frank:test", "join", "Frank")],
            (await app.MembersAsync(room)).Select(m => (m.UserId, m.Membership, m.DisplayName)));
    }

    [Fact]
    public async Task Room_state_drift_is_found_counted_and_repaired_by_a_resync()
    {
        string room = NewRoomId();
        await app.JoinedAndSyncedRoomAsync(room, State(room, "m.room.topic", new System.Text.Json.Nodes.JsonObject { ["topic"] = "Old topic" }));
        var clean = await app.WaitForJobAsync(room, "drift_check", j => j.Outcome == "done", "a drift check that finds nothing");
        long driftBefore = (await app.StatsAsync()).DriftDetected;

        // State events the homeserver never pushed: a new name and topic, join rules changed.
        app.Stub.SetState(room,
            State(room, "m.room.name", new System.Text.Json.Nodes.JsonObject { ["name"] = "Renamed" }),
            State(room, "m.room.topic", new System.Text.Json.Nodes.JsonObject { ["topic"] = "New topic" }),
            State(room, "m.room.join_rules", new System.Text.Json.Nodes.JsonObject { ["join_rule"] = "public" }));

        var drift = await app.WaitForJobAsync(room, "drift_check", j => j.Id > clean.Id && j.Outcome == "drift", "a drift check that finds the room state difference");
        Assert.EndsWith("room state differs: m.room.name, m.room.topic, m.room.join_rules; found: missed_events", drift.Detail);
        Assert.True((await app.StatsAsync()).DriftDetected > driftBefore);

        await app.WaitForJobAsync(room, "resync", j => j.Id > drift.Id && j.Reason == "drift" && j.Outcome == "done", "the repairing resync");
        var r = await app.RoomAsync(room);
        Assert.Equal(("Renamed", "New topic", "public"), (r!.Name, r.Topic, r.JoinRule));
    }
}
