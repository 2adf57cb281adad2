using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.BotLifecycle;

public sealed class DriftCheckTests(DriftCheckApplication app) : IClassFixture<DriftCheckApplication>
{
    [Fact]
    public async Task Drift_from_missed_events_is_found_counted_and_repaired_by_a_resync()
    {
        string room = NewRoomId();
        await app.JoinedAndSyncedRoomAsync(room, Member(room, Bob, "join", displayname: "Bob"));
        var clean = await app.QuietAsync(room);
        long driftBefore = (await app.StatsAsync()).DriftDetected;

        // Events the homeserver never pushed (lost, or a Dendrite redaction): Alice left, Frank joined, Bob's
        // profile was redacted.
        app.Stub.SetState(room,
            Member(room, Alice, "leave"),
            Member(room, "@frank:test", "join", displayname: "Frank"),
            Member(room, Bob, "join"));

        // Only a check queued after the clean one: one that ran while the first resync was still being written can
        // have found a (then real) difference of its own (and no resync is open that could repair the room unseen).
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
        var clean = await app.QuietAsync(room);
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

    [Fact]
    public async Task A_room_waiting_for_its_resync_is_not_sampled_for_drift()
    {
        string waiting = NewRoomId(), other = NewRoomId();
        await app.JoinedAndSyncedRoomAsync(waiting);
        await app.JoinedAndSyncedRoomAsync(other);
        await app.QuietAsync(waiting);

        // A resync of the room is queued and not yet due (behind the limit of resyncs at a time, or in backoff): its
        // rows are about to be replaced by the homeserver's, so comparing them now would only find the difference the
        // resync is there to repair, and cost two homeserver calls.
        long resync = await app.QueryAsync<long>("""
            INSERT INTO jobs (kind, room_id, dedup_key, reason, attempts, run_after, rerun, created_at)
            VALUES ('resync', $1, 'resync:' || $1, 'admin', 0, now() + interval '1 hour', false, now()) RETURNING id
            """, waiting);
        // A tick queues its checks with the time it started at: one that started before the insert committed could not
        // see the resync (and may still have numbered its checks after it), one that started after this could.
        var inserted = DateTimeOffset.UtcNow;
        try
        {
            // Every joined room is in each sample (this class's few rooms, a sample of 50): two rounds seen on the other room.
            var first = await app.WaitForJobAsync(other, "drift_check", j => j.CreatedAt > inserted && j.CompletedAt is not null, "a drift check of the other room");
            await app.WaitForJobAsync(other, "drift_check", j => j.Id > first.Id && j.CompletedAt is not null, "a second drift check of the other room");

            Assert.DoesNotContain(await app.JobsAsync(waiting), j => j.Kind == "drift_check" && j.CreatedAt > inserted);
        }
        finally
        {
            await app.ExecuteSqlAsync($"UPDATE jobs SET completed_at = now(), outcome = 'done' WHERE id = {resync}");
        }

        // Once its resync has ended, the room is sampled again.
        await app.WaitForJobAsync(waiting, "drift_check", j => j.CreatedAt > inserted && j.CompletedAt is not null, "a drift check of the room after its resync");
    }
}
