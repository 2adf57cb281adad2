using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.BotLifecycle.StubHomeserver;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.BotLifecycle;

/// <summary>
/// Retries inside one homeserver call, on a service of their own. The circuit breaker is the service's, shared by every
/// call it makes: in this class's old place, beside BotLifecycleTests' scripted 429 and 500 on a join, a test order
/// that ran the two back to back would open it (three failures in five calls) and turn this in-call retry into a
/// failed job attempt.
/// </summary>
public sealed class InCallRetryTests(BotLifecycleApplication app) : IClassFixture<BotLifecycleApplication>
{
    private const string Bot = AppServiceApplication.BotUserId;

    [Fact]
    public async Task A_500_and_a_429_on_a_resync_read_are_retried_inside_the_call()
    {
        string room = NewRoomId();
        app.Stub.Script("GET", RoomPath(room, "members"),
            StubAnswer.MatrixError(500, "M_UNKNOWN", "Internal server error"),
            StubAnswer.MatrixError(429, "M_LIMIT_EXCEEDED", "Too many requests", retryAfterMs: 200));

        await app.JoinedAndSyncedRoomAsync(room);

        var resync = (await app.JobsAsync(room)).First(j => j.Kind == "resync");
        Assert.Equal(("done", null), (resync.Outcome, resync.LastError));
        Assert.Equal(3, app.Stub.RequestsTo("GET", RoomPath(room, "members")).Count);
        Assert.Equal([Alice, Bot], (await app.MembersAsync(room)).Select(m => m.UserId));
    }
}
