using static AppService.IntegrationTests.BotLifecycle.StubHomeserver;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.BotLifecycle;

/// <summary>
/// The worker is woken by the ingest and by its own retry times, not only by its poll interval (ten minutes here: a job
/// that waited for a poll would not complete within the fixture's patience, and the wait fails saying so).
/// </summary>
public sealed class JobWakeUpTests(SlowPollApplication app) : IClassFixture<SlowPollApplication>
{
    [Fact]
    public async Task A_queued_job_starts_at_once_and_a_retry_shorter_than_the_poll_interval_is_not_held_back_by_it()
    {
        string room = NewRoomId();
        app.Stub.Script("POST", RoomPath(room, "join"), StubAnswer.MatrixError(500, "M_UNKNOWN", "Internal server error"));

        await app.PushOkAsync(BotEvents.Invite(room));

        await app.WaitForCompletedAsync(room, "join");
        Assert.Equal(2, app.Stub.RequestsTo("POST", RoomPath(room, "join")).Count);
    }
}
