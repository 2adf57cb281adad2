using System.Net.Sockets;
using AppService.Data;
using AppService.Hosting;
using AppService.Observability;
using Microsoft.Extensions.Options;
using Npgsql;
using Polly.CircuitBreaker;
using Polly.Timeout;
using static AppService.Data.SqlParameters;

namespace AppService.Homeserver;

/// <summary>
/// Runs the jobs table: claims due jobs (<see cref="JobSql.Claim"/>, safe with several replicas), runs up to
/// <see cref="JobOptions.Concurrency"/> at once, and reschedules failures with <see cref="JobBackoff"/>. It never
/// gives up on a transient failure (homeserver unreachable, 5xx, 429, timeouts): jobs wait as long as the
/// homeserver is away. Permanent refusals (e.g. 403 M_FORBIDDEN) give up after <see cref="JobOptions.MaxAttempts"/>,
/// logged at Error, kept in the table with their last error and counted by /admin/v1/stats.
/// </summary>
public sealed class JobWorker(
    IServiceScopeFactory scopes,
    NpgsqlDataSource dataSource,
    JobSignal signal,
    IOptions<JobOptions> jobOptions,
    IOptions<AppServiceOptions> appOptions,
    TimeProvider time,
    ILogger<JobWorker> logger) : BackgroundService
{
    private readonly Lock _retryLock = new();
    private DateTimeOffset? _nextRetry;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var options = jobOptions.Value;
        if (appOptions.Value.HomeserverUrl is null)
        {
            // Logged once; the jobs stay in the table and run after a restart with the URL set.
            Log.HomeserverNotConfigured(logger, await CountOpenJobsAsync(stoppingToken));
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(options.PollInterval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (!stoppingToken.IsCancellationRequested)
                {
                    await CountOpenJobsAsync(stoppingToken); // keeps appservice_job_queue_depth true while jobs wait
                }
            }

            return;
        }

        // Up to Concurrency jobs run at once; a free slot is filled as soon as a job ends, so one slow call
        // (a big room's /members) does not hold back the joins queued behind it.
        var running = new HashSet<Task>();
        Task<bool>? wakeUp = null;
        var nextCount = time.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (time.GetUtcNow() >= nextCount)
                {
                    await CountOpenJobsAsync(stoppingToken);
                    nextCount = time.GetUtcNow() + options.PollInterval;
                }

                running.RemoveWhere(t => t.IsCompleted);
                int free = options.Concurrency - running.Count;
                if (free > 0)
                {
                    var claimed = await ClaimAsync(free, options.LeaseDuration, stoppingToken);
                    if (claimed.Count > 0)
                    {
                        Log.Claimed(logger, claimed.Count);
                        running.UnionWith(claimed.Select(job => RunAsync(job, options, stoppingToken)));
                        continue;
                    }
                }

                // Nothing due or no slot free: wait for a job to end, the ingest's signal, the poll interval, or
                // the retry time of a job this worker saw fail (backoffs shorter than the poll interval hold).
                wakeUp ??= signal.WaitAsync(options.PollInterval, stoppingToken);
                await Task.WhenAny(running.Append(wakeUp).Append(Task.Delay(UntilNextRetry(options.PollInterval), time, stoppingToken)));
                if (wakeUp.IsCompleted)
                {
                    wakeUp = null;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The database is away (or a bug): keep the loop alive, jobs are safe in the table.
                Log.WorkerLoopFailed(logger, ex, options.PollInterval);
                await Task.Delay(options.PollInterval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        // Running jobs see the stopping token and hand themselves back (JobSql.Release).
        await Task.WhenAll(running);
    }

    private async Task RunJobAsync(ClaimedJob job, JobOptions options, CancellationToken stoppingToken)
    {
        // A run must end well before its lease does, or another replica would start the same job.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(options.LeaseDuration * 0.8);
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            string outcome = await scope.ServiceProvider.GetRequiredService<RoomJobs>().RunAsync(job, timeout.Token);
            AppServiceMetrics.JobsFinished.WithLabels(job.Kind, outcome).Inc();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: hand the job back so another replica (or the next start) runs it at once.
            await ExecuteAsync(JobSql.Release, CancellationToken.None, Bigint(job.Id), Timestamp(job.LockedUntil));
        }
        catch (Exception ex)
        {
            await FailAsync(job, options, ex);
        }
    }

    /// <summary>Runs one job and records how it ended; never throws (a bookkeeping failure leaves the lease to expire).</summary>
    private async Task RunAsync(ClaimedJob job, JobOptions options, CancellationToken stoppingToken)
    {
        try
        {
            await RunJobAsync(job, options, stoppingToken);
        }
        catch (Exception ex)
        {
            Log.JobNotRecorded(logger, ex, job.Kind, job.Id, job.RoomId, job.LockedUntil);
        }
    }

    private async Task FailAsync(ClaimedJob job, JobOptions options, Exception exception)
    {
        string error = Describe(exception);
        var retryAfter = (exception as MatrixApiException)?.RetryAfter;
        bool giveUp = JobBackoff.GivesUp(exception, job.Attempts, options.MaxAttempts);
        var delay = JobBackoff.Delay(job.Attempts, options.RetryBaseDelay, options.MaxRetryDelay, Random.Shared.NextDouble(), retryAfter);
        var now = time.GetUtcNow();
        lock (_retryLock)
        {
            _nextRetry = _nextRetry is { } next && next < now + delay ? next : now + delay;
        }

        if (DatabaseFailures.IsDatabaseError(exception))
        {
            AppServiceMetrics.DatabaseErrors.WithLabels("jobs").Inc();
        }
        else
        {
            AppServiceMetrics.HomeserverErrors.WithLabels(job.Kind).Inc();
        }

        if (giveUp)
        {
            AppServiceMetrics.JobsFinished.WithLabels(job.Kind, JobOutcomes.Failed).Inc();
            Log.JobGivenUp(logger, job.Kind, job.Id, job.RoomId, job.Attempts, error);
        }
        else
        {
            Log.JobRetrying(logger, job.Kind, job.Id, job.RoomId, job.Attempts, error, delay);
        }

        await ExecuteAsync(JobSql.Fail, CancellationToken.None,
            Bigint(job.Id), Timestamp(job.LockedUntil), Timestamp(now + delay), Text(error), Bool(giveUp), Timestamp(now));
    }

    private TimeSpan UntilNextRetry(TimeSpan pollInterval)
    {
        var now = time.GetUtcNow();
        lock (_retryLock)
        {
            if (_nextRetry is { } next && next <= now)
            {
                _nextRetry = null;
                return TimeSpan.Zero;
            }

            return _nextRetry is { } due && due - now < pollInterval ? due - now : pollInterval;
        }
    }

    /// <summary>The last_error of a failed run: what went wrong, in one line, without request details.</summary>
    public static string Describe(Exception exception) => exception switch
    {
        MatrixApiException m => m.Message,
        HomeserverNotConfiguredException => "AppService:HomeserverUrl is not set",
        BrokenCircuitException => "circuit open: the homeserver failed repeatedly, calls paused",
        TimeoutRejectedException => "timed out waiting for the homeserver",
        OperationCanceledException => "timed out (the job ran longer than its lease allows)",
        HttpRequestException { InnerException: SocketException s } => $"homeserver unreachable: {s.SocketErrorCode}",
        HttpRequestException h => $"homeserver unreachable: {h.HttpRequestError}",
        _ => $"{exception.GetType().Name}: {exception.Message}",
    };

    private async Task<List<ClaimedJob>> ClaimAsync(int count, TimeSpan lease, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await using var command = dataSource.CreateCommand(JobSql.Claim);
        command.Parameters.Add(Timestamp(now));
        command.Parameters.Add(Int(count));
        command.Parameters.Add(Timestamp(now + lease));
        command.Parameters.Add(Int(jobOptions.Value.MaxConcurrentResyncs));
        await using var reader = await command.ExecuteReaderAsync(ct);
        var jobs = new List<ClaimedJob>();
        while (await reader.ReadAsync(ct))
        {
            jobs.Add(JobSql.ReadClaimed(reader));
        }

        return jobs;
    }

    /// <summary>Open jobs, also published as appservice_job_queue_depth; -1 if the database cannot say.</summary>
    private async Task<long> CountOpenJobsAsync(CancellationToken ct)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT count(*) FROM jobs WHERE completed_at IS NULL");
            long open = (long)(await command.ExecuteScalarAsync(ct))!;
            AppServiceMetrics.JobQueueDepth.Set(open);
            return open;
        }
        catch (NpgsqlException ex)
        {
            AppServiceMetrics.CountDatabaseError(ex, "jobs");
            return -1;
        }
    }

    private async Task<int> ExecuteAsync(string sql, CancellationToken ct, params NpgsqlParameter[] parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.AddRange(parameters);
        return await command.ExecuteNonQueryAsync(ct);
    }
}
