using static AppService.IntegrationTests.BotLifecycle.StubHomeserver;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.BotLifecycle;

/// <summary>The worker is woken by the ingest and by its own retry times, not only by its poll interval (30 s here).</summary>
public sealed class JobWakeUpTests(SlowPollApplication app) : IClassFixture<SlowPollApplication>
{
    [Fact]
    public async Task A_queued_job_starts_at_once_and_a_retry_shorter_than_the_poll_interval_is_not_held_back_by_it()
    {
        string room = NewRoomId();
        app.Stub.Script("POST", RoomPath(room, "join"), StubAnswer.MatrixError(500, "M_UNKNOWN", "Internal server error"));

        await app.PushOkAsync(BotEvents.Invite(room));

        var job = await app.WaitForCompletedAsync(room, "join");
        var joins = app.Stub.RequestsTo("POST", RoomPath(room, "join"));
        Assert.Equal(2, joins.Count);
        Assert.True(joins[1].At - joins[0].At < TimeSpan.FromSeconds(5), $"retried after {(joins[1].At - joins[0].At).TotalSeconds:0.0} s");
        Assert.True(job.CompletedAt - job.CreatedAt < TimeSpan.FromSeconds(10));
    }
}
