using System.Net;
using System.Text.Json.Nodes;
using static AppService.IntegrationTests.BotLifecycle.StubHomeserver;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.BotLifecycle;

/// <summary>Rules 4 and 5: the resync's lease fences its writes; a snapshot's events are recorded as processed.</summary>
public sealed class ResyncFencingTests(BotLifecycleApplication app) : IClassFixture<BotLifecycleApplication>
{
    [Fact]
    public async Task A_resync_whose_lease_was_taken_over_while_it_fetched_writes_nothing()
    {
        string room = NewRoomId();
        await app.JoinedAndSyncedRoomAsync(room);
        app.Stub.SetState(room, State(room, "m.room.name", new JsonObject { ["name"] = "Straggler's snapshot" }));

        var held = app.Stub.Hold("GET", RoomPath(room, "members"));
        using (var queued = await app.Admin().PostAsync($"/admin/v1/rooms/{Uri.EscapeDataString(room)}/resync", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, queued.StatusCode);
        }

        await held.Reached.WaitAsync(BotLifecycleApplication.Patience);

        // Another worker took the job over (this run's lease ran out during a pause): the lease token changed.
        await app.ExecuteSqlAsync($"UPDATE jobs SET locked_until = now() + interval '1 hour' WHERE room_id = '{room}' AND kind = 'resync' AND completed_at IS NULL");
        held.Release();

        await app.EventuallyAsync(
            () => Task.FromResult(app.Logs.Lines.Any(l => l.Contains($"Resync of {room} not applied: lease_lost", StringComparison.Ordinal))),
            "the straggler to drop its snapshot");
        Assert.Equal("Synced name", (await app.RoomAsync(room))!.Name);
        Assert.Equal(1, await app.ScalarAsync($"SELECT count(*) FROM jobs WHERE room_id = '{room}' AND kind = 'resync' AND completed_at IS NULL"));
    }

    [Fact]
    public async Task A_backlog_copy_of_events_a_resync_already_applied_is_a_no_op()
    {
        string room = NewRoomId();
        var topic = State(room, "m.room.topic", new JsonObject { ["topic"] = "Synced topic" });
        var state = await app.JoinedAndSyncedRoomAsync(room, topic);
        long jobsBefore = await app.ScalarAsync($"SELECT count(*) FROM jobs WHERE room_id = '{room}'");

        // The homeserver's backlog now delivers events the snapshot already held, with replaces_state naming
        // events we never saw: before, they were applied again and each flagged a mismatch and another resync.
        var name = (JsonObject)state["m.room.name|"].DeepClone();
        name["unsigned"] = new JsonObject { ["replaces_state"] = "$older-name" };
        var backlogTopic = (JsonObject)topic.DeepClone();
        backlogTopic["unsigned"] = new JsonObject { ["replaces_state"] = "$older-topic" };
        await app.PushOkAsync(name, backlogTopic);

        var r = (await app.RoomAsync(room))!;
        Assert.False(r.Suspect);
        Assert.Equal(("Synced name", "Synced topic"), (r.Name, r.Topic));
        Assert.Equal(jobsBefore, await app.ScalarAsync($"SELECT count(*) FROM jobs WHERE room_id = '{room}'"));
        Assert.Equal(2, await app.ScalarAsync($"SELECT count(*) FROM processed_events WHERE room_id = '{room}' AND txn_id LIKE 'resync:%' AND event_type IN ('m.room.name', 'm.room.topic')"));
    }
}
