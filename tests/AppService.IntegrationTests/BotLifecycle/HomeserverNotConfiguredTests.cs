using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.BotLifecycle;

/// <summary>The base fixture sets no AppService:HomeserverUrl.</summary>
public sealed class HomeserverNotConfiguredTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    [Fact]
    public async Task Without_a_homeserver_url_the_ingest_works_and_jobs_wait_logged_once()
    {
        string room = NewRoomId();

        await app.PushOkAsync("unconfigured-1", BotEvents.Invite(room), Member(room, Alice, "join"));

        Assert.Equal("invite", (await app.RoomAsync(room))!.BotMembership);
        Assert.Equal(1, await app.ScalarAsync($"SELECT count(*) FROM jobs WHERE room_id = '{room}' AND kind = 'join' AND completed_at IS NULL AND attempts = 0"));
        Assert.Equal(1, (await app.StatsAsync()).JobsPending);

        // Logged by the worker as it starts, which may be just after the host answers its first request.
        for (int i = 0; i < 100 && !app.Logs.Lines.Any(IsNotConfigured); i++)
        {
            await Task.Delay(50);
        }

        Assert.Single(app.Logs.Lines, IsNotConfigured);

        static bool IsNotConfigured(string line) => line.Contains("homeserver job(s) wait", StringComparison.Ordinal);
    }
}
