using AppService.Data;
using AppService.Hosting;
using AppService.Observability;
using Microsoft.Extensions.Options;
using Npgsql;
using static AppService.Data.SqlParameters;

namespace AppService.Homeserver;

/// <summary>
/// Every <see cref="DriftCheckOptions.Interval"/>, queues a drift_check job for the <see cref="DriftCheckOptions.SampleSize"/>
/// joined rooms synced or checked longest ago (round robin, so every room comes up in turn; a room whose resync is
/// queued or running waits until it ends: <see cref="JobSql.ScheduleDriftChecks"/>). The checks run in the job
/// worker, with its retries and backoff. Dendrite pushes no redactions and may redeliver state in bulk, and any
/// homeserver can lose events (facts 2.5): this is what notices. Each tick also compares the rooms the homeserver says
/// the bot is joined to (<c>GET /joined_rooms</c>) with ours: a room we hold as not joined that the homeserver says
/// is joined (a membership a backlog made up, a join we never received) gets a resync, which the sample of joined
/// rooms would never reach.
/// </summary>
public sealed class DriftScheduler(
    NpgsqlDataSource dataSource,
    IServiceScopeFactory scopes,
    JobSignal signal,
    IOptions<DriftCheckOptions> driftOptions,
    IOptions<AppServiceOptions> appOptions,
    TimeProvider time,
    ILogger<DriftScheduler> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = driftOptions.Value;
        if (!options.Enabled || appOptions.Value.HomeserverUrl is null)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await ScheduleAsync(options.SampleSize, stoppingToken);
                await CheckBotMembershipAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task CheckBotMembershipAsync(CancellationToken ct)
    {
        try
        {
            IReadOnlySet<string> joined;
            using (var scope = scopes.CreateScope())
            {
                joined = await scope.ServiceProvider.GetRequiredService<HomeserverClient>().GetJoinedRoomsAsync(ct);
            }

            if (joined.Count == 0)
            {
                return;
            }

            await using var command = dataSource.CreateCommand(JobSql.QueueResyncsOfRoomsJoinedElsewhere);
            command.Parameters.Add(TextArray([.. joined]));
            command.Parameters.Add(Timestamp(time.GetUtcNow()));
            int queued = await command.ExecuteNonQueryAsync(ct);
            if (queued > 0)
            {
                Log.BotMembershipDrift(logger, queued);
                AppServiceMetrics.DriftFound.WithLabels(Projections.DriftKinds.BotMembership).Inc(queued);
                signal.Notify();
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.DriftSchedulingFailed(logger, ex);
        }
    }

    private async Task ScheduleAsync(int sampleSize, CancellationToken ct)
    {
        try
        {
            await using var command = dataSource.CreateCommand(JobSql.ScheduleDriftChecks);
            command.Parameters.Add(Timestamp(time.GetUtcNow()));
            command.Parameters.Add(Int(sampleSize));
            int queued = await command.ExecuteNonQueryAsync(ct);
            Log.DriftChecksScheduled(logger, queued);
            if (queued > 0)
            {
                signal.Notify();
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.DriftSchedulingFailed(logger, ex);
        }
    }
}
