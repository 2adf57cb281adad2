using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AppService.Admin;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.BotLifecycle;

/// <summary>Issue 8, cause 4, on the resync writer: a failed resync batch does not hand its connection back to the pool.</summary>
public sealed class ResyncConnectionHygieneTests(BotLifecycleApplication app) : IClassFixture<BotLifecycleApplication>
{
    private const string Poisoner = "@poison:test";

    [Fact]
    public async Task After_a_resync_write_fails_its_connection_is_closed_and_the_retried_resync_completes()
    {
        string room = NewRoomId();
        var synced = await app.JoinedAndSyncedRoomAsync(room);
        app.Stub.SetState(room, [.. synced.Values, Member(room, Poisoner, "join")]);

        // Records the backend that writes member rows (setval survives the rollback) and refuses the poisoner's row.
        await app.ExecuteSqlAsync($"""
            CREATE SEQUENCE resync_writer_pid;
            CREATE FUNCTION record_resync_writer() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM setval('resync_writer_pid', pg_backend_pid());
                IF NEW.user_id = '{Poisoner}' THEN
                    RAISE EXCEPTION 'refused by the test';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER record_resync_writer BEFORE INSERT OR UPDATE ON room_members FOR EACH ROW EXECUTE FUNCTION record_resync_writer();
            """);
        long jobId;
        try
        {
            using var response = await app.Admin().PostAsync($"/admin/v1/rooms/{Uri.EscapeDataString(room)}/resync", null);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            jobId = (await response.Content.ReadFromJsonAsync<JobQueuedResponse>())!.JobId;

            long writer = 0;
            await app.EventuallyAsync(async () => (writer = await app.ScalarAsync(
                "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM resync_writer_pid")) != 0, "a resync write");
            await app.EventuallyAsync(
                async () => await app.ScalarAsync($"SELECT count(*) FROM pg_stat_activity WHERE pid = {writer}") == 0,
                $"backend {writer}, whose resync batch failed, to be closed");
        }
        finally
        {
            await app.ExecuteSqlAsync("DROP TRIGGER IF EXISTS record_resync_writer ON room_members;");
        }

        await app.EventuallyAsync(async () => (await app.Admin().GetFromJsonAsync<JobResponse>($"/admin/v1/jobs/{jobId}"))!.Outcome == "done", "the retried resync");
        Assert.Equal("join", (await app.MemberAsync(room, Poisoner))!.Membership);
    }
}
