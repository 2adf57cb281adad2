using AppService.Data;
using AppService.IntegrationTests.Infrastructure;
using AppService.Observability;
using AppService.Projections;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AppService.IntegrationTests.BotLifecycle;

/// <summary>
/// Invite spam: resyncs are capped across replicas; invites from outside AllowedInviters are refused (and counted:
/// the class runs alone, <see cref="ProcessWideMetrics"/>, so the count is exact).
/// </summary>
[Collection(ProcessWideMetrics.Name)]
public sealed class InviteSpamTests(InviteSpamTests.Application app) : IClassFixture<InviteSpamTests.Application>
{
    public sealed class Application : AppServiceApplication
    {
        protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [
            new("AppService:AutoJoin:AllowedInviters:0", @"@[^:]+:test"),
            new("AppService:AutoJoin:AllowedInviters:1", @"@boss:partner\.test"),
        ];
    }

    [Fact]
    public async Task No_more_resyncs_than_the_cap_are_claimed_while_other_jobs_go_ahead()
    {
        var now = DateTimeOffset.UtcNow;
        string prefix = Events.NewRoomId();
        var resyncs = Enumerable.Range(0, 5).Select(i => new JobRequest(JobKinds.Resync, $"{prefix}-r{i}", JobReasons.BotJoined));
        var joins = Enumerable.Range(0, 3).Select(i => new JobRequest(JobKinds.Join, $"{prefix}-j{i}", JobReasons.Invite));
        await using (var connection = new NpgsqlConnection(app.ConnectionString))
        {
            await connection.OpenAsync();
            await using var batch = new NpgsqlBatch(connection) { BatchCommands = { JobSql.InsertJobsCommand([.. resyncs, .. joins], now) } };
            await batch.ExecuteNonQueryAsync();
        }

        var first = (await JobQueueTests.ClaimAsync(app, 20, now.AddSeconds(1), maxResyncs: 2))
            .Where(j => j.RoomId.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, first.Count(j => j.Kind == JobKinds.Resync));
        Assert.Equal(3, first.Count(j => j.Kind == JobKinds.Join));

        // Two resyncs hold their leases: a second worker (another replica) gets none.
        var second = await JobQueueTests.ClaimAsync(app, 20, now.AddSeconds(2), maxResyncs: 2);
        Assert.Empty(second);
    }

    [Fact]
    public void The_configured_inviters_are_allowed_and_others_refused()
    {
        var policy = app.Services.GetRequiredService<InvitePolicy>();
        Assert.True(policy.Enabled);
        Assert.True(policy.Allows("@alice:test"));
        Assert.True(policy.Allows("@boss:partner.test"));
        Assert.False(policy.Allows("@spammer:evil.test"));
        Assert.False(policy.Allows("@boss:partner.test.evil"));
    }

    [Fact]
    public async Task An_invite_from_a_stranger_is_refused_logged_and_counted_and_the_bot_does_not_join()
    {
        string room = Events.NewRoomId();
        double before = AppServiceMetrics.InvitesRefused.Value;
        await app.PushOkAsync("spam-1", Events.Member(room, AppServiceApplication.BotUserId, "invite", sender: "@spammer:evil.test"));

        Assert.Equal("invite", (await app.RoomAsync(room))!.BotMembership);
        Assert.Equal(0, await app.ScalarAsync($"SELECT count(*) FROM jobs WHERE room_id = '{room}'"));
        Assert.Equal(before + 1, AppServiceMetrics.InvitesRefused.Value);
        Assert.Contains(app.Logs.Lines, l => l.Contains("invite from @spammer:evil.test refused", StringComparison.Ordinal));

        string allowed = Events.NewRoomId();
        await app.PushOkAsync("spam-2", Events.Member(allowed, AppServiceApplication.BotUserId, "invite", sender: "@boss:partner.test"));
        Assert.Equal(1, await app.ScalarAsync($"SELECT count(*) FROM jobs WHERE room_id = '{allowed}' AND kind = 'join'"));
    }
}
