using AppService.Data;
using AppService.IntegrationTests.Infrastructure;
using AppService.Projections;
using Npgsql;
using static AppService.Data.SqlParameters;

namespace AppService.IntegrationTests.BotLifecycle;

/// <summary>
/// The jobs table's statements on real PostgreSQL, driven directly. The fixture has no HomeserverUrl, so no worker
/// claims anything behind the tests' backs.
/// </summary>
public sealed class JobQueueTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task Concurrent_claims_never_hand_out_the_same_job()
    {
        var now = DateTimeOffset.UtcNow;
        string prefix = Events.NewRoomId();
        await ExecuteAsync(JobSql.InsertJobsCommand(
            Enumerable.Range(0, 40).Select(i => new JobRequest(JobKinds.Resync, $"{prefix}-{i}", JobReasons.Admin)).ToList(), now));

        // 8 workers at once, with room to spare for open jobs other tests of this class left behind.
        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => ClaimAsync(10, now.AddSeconds(1))));

        var ids = claims.SelectMany(c => c).Where(j => j.RoomId.StartsWith(prefix, StringComparison.Ordinal)).Select(j => j.Id).ToList();
        Assert.Equal(40, ids.Count);
        Assert.Equal(40, ids.Distinct().Count());
    }

    [Fact]
    public async Task A_request_for_queued_work_is_absorbed_and_one_for_running_work_makes_it_run_again()
    {
        string room = Events.NewRoomId();
        var request = new JobRequest(JobKinds.Resync, room, JobReasons.BotJoined);
        var now = DateTimeOffset.UtcNow;
        await ExecuteAsync(JobSql.InsertJobsCommand([request], now));
        await ExecuteAsync(JobSql.InsertJobsCommand([request with { Reason = JobReasons.ReplacesState }], now));
        Assert.Equal(1, await OpenJobsAsync(room));

        var claimed = Assert.Single(await ClaimAsync(100, now.AddSeconds(1)), j => j.RoomId == room);
        await ExecuteAsync(JobSql.InsertJobsCommand([request], now));
        Assert.Equal(1, await OpenJobsAsync(room));
        Assert.Equal(1, await app.ScalarAsync($"SELECT count(*) FROM jobs WHERE room_id = '{room}' AND rerun"));

        // Completing the run keeps the job open and due: the request that came in meanwhile is served.
        Assert.Equal(1, await ExecuteAsync(JobSql.CompleteCommand(claimed, now.AddSeconds(2), JobOutcomes.Done, null)));
        Assert.Equal(1, await OpenJobsAsync(room));
        var again = Assert.Single(await ClaimAsync(100, now.AddSeconds(3)), j => j.RoomId == room);
        Assert.Equal(claimed.Id, again.Id);
        Assert.Equal(1, await ExecuteAsync(JobSql.CompleteCommand(again, now.AddSeconds(4), JobOutcomes.Done, null)));
        Assert.Equal(0, await OpenJobsAsync(room));

        // A later request is new work.
        await ExecuteAsync(JobSql.InsertJobsCommand([request], now.AddSeconds(5)));
        Assert.Equal(1, await OpenJobsAsync(room));
        Assert.Equal(2, await app.ScalarAsync($"SELECT count(*) FROM jobs WHERE room_id = '{room}'"));
    }

    [Fact]
    public async Task A_worker_whose_lease_was_taken_over_can_neither_complete_nor_fail_the_job()
    {
        string room = Events.NewRoomId();
        var now = DateTimeOffset.UtcNow;
        await ExecuteAsync(JobSql.InsertJobsCommand([new JobRequest(JobKinds.Join, room, JobReasons.Invite)], now));

        // The first worker claims with a lease that has run out by the time a second worker looks (it died, or hangs).
        var first = Assert.Single(await ClaimAsync(100, now.AddSeconds(1), leaseFrom: now.AddMinutes(-10)), j => j.RoomId == room);
        var second = Assert.Single(await ClaimAsync(100, now.AddSeconds(2)), j => j.RoomId == room);
        Assert.Equal((first.Id, 2), (second.Id, second.Attempts));

        Assert.Equal(0, await ExecuteAsync(JobSql.CompleteCommand(first, now.AddSeconds(3), JobOutcomes.Done, null)));
        Assert.Equal(0, await ExecuteAsync(Command(JobSql.Fail, Bigint(first.Id), Timestamp(first.LockedUntil), Timestamp(now), Text("late"), Bool(true), Timestamp(now))));
        Assert.Equal(1, await ExecuteAsync(JobSql.CompleteCommand(second, now.AddSeconds(3), JobOutcomes.Done, null)));
        Assert.Equal(0, await OpenJobsAsync(room));
    }

    [Fact]
    public async Task A_failure_reschedules_and_only_a_give_up_closes_the_job_as_failed()
    {
        string room = Events.NewRoomId();
        var now = DateTimeOffset.UtcNow;
        await ExecuteAsync(JobSql.InsertJobsCommand([new JobRequest(JobKinds.Join, room, JobReasons.Invite)], now));

        var run = Assert.Single(await ClaimAsync(100, now.AddSeconds(1)), j => j.RoomId == room);
        Assert.Equal(1, await ExecuteAsync(Command(JobSql.Fail, Bigint(run.Id), Timestamp(run.LockedUntil), Timestamp(now.AddMinutes(1)), Text("503 M_UNKNOWN: busy"), Bool(false), Timestamp(now))));
        Assert.DoesNotContain(await ClaimAsync(100, now.AddSeconds(30)), j => j.RoomId == room);

        run = Assert.Single(await ClaimAsync(100, now.AddMinutes(2)), j => j.RoomId == room);
        Assert.Equal(2, run.Attempts);
        Assert.Equal(1, await ExecuteAsync(Command(JobSql.Fail, Bigint(run.Id), Timestamp(run.LockedUntil), Timestamp(now.AddMinutes(3)), Text("403 M_FORBIDDEN: not invited"), Bool(true), Timestamp(now))));

        Assert.Equal(0, await OpenJobsAsync(room));
        Assert.Equal(1, await app.ScalarAsync($"SELECT count(*) FROM jobs WHERE room_id = '{room}' AND outcome = 'failed' AND last_error = '403 M_FORBIDDEN: not invited'"));
    }

    private Task<long> OpenJobsAsync(string roomId) =>
        app.ScalarAsync($"SELECT count(*) FROM jobs WHERE room_id = '{roomId}' AND completed_at IS NULL");

    private Task<List<ClaimedJob>> ClaimAsync(int count, DateTimeOffset now, DateTimeOffset? leaseFrom = null) =>
        ClaimAsync(app, count, now, leaseFrom);

    /// <summary>Runs <see cref="JobSql.Claim"/> as a worker would; <paramref name="maxResyncs"/> is the resync cap.</summary>
    internal static async Task<List<ClaimedJob>> ClaimAsync(
        AppServiceApplication app, int count, DateTimeOffset now, DateTimeOffset? leaseFrom = null, int maxResyncs = 1000)
    {
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(JobSql.Claim, connection);
        command.Parameters.Add(Timestamp(now));
        command.Parameters.Add(Int(count));
        command.Parameters.Add(Timestamp((leaseFrom ?? now) + Lease));
        command.Parameters.Add(Int(maxResyncs));
        await using var reader = await command.ExecuteReaderAsync();
        var jobs = new List<ClaimedJob>();
        while (await reader.ReadAsync())
        {
            jobs.Add(JobSql.ReadClaimed(reader));
        }

        return jobs;
    }

    private async Task<int> ExecuteAsync(NpgsqlBatchCommand command)
    {
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var batch = new NpgsqlBatch(connection) { BatchCommands = { command } };
        return await batch.ExecuteNonQueryAsync();
    }
}
