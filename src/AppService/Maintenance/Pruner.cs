using System.Diagnostics;
using AppService.Data;
using AppService.Hosting;
using AppService.Observability;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Prometheus;

namespace AppService.Maintenance;

/// <summary>What one retention run deleted.</summary>
public sealed record PruneResult(long ProcessedEventsDeleted, long TransactionsDeleted, DateTimeOffset Cutoff)
{
    public long RejectedEventsDeleted { get; init; }

    public long JobsDeleted { get; init; }

    public long ChangesDeleted { get; init; }
}

/// <summary>
/// The one owner of every table that ages out (README "Retention"): processed-event and ledger rows older than
/// <see cref="RetentionOptions.ProcessedEvents"/>, quarantined events older than
/// <see cref="RetentionOptions.RejectedEvents"/>, finished jobs (done, skipped or given up) older than
/// <see cref="JobOptions.Retention"/>, redactions still waiting for their target (<c>pending_redactions</c>) with the
/// processed events, change-log rows older than <see cref="RetentionOptions.Changes"/>. Rows go in batches of
/// <see cref="RetentionOptions.BatchSize"/>, each batch
/// one statement and one short transaction, so that ingest is never blocked for long, and batches are paced by
/// <see cref="RetentionOptions.DutyCycle"/> so that deleting a backlog does not take the database from the ingest. Each batch is found through
/// an index leading with the table's time column and deleted by primary key. Projections (rooms, members, state)
/// and open jobs are never touched.
/// </summary>
public sealed class Pruner(
    AppDbContext db, IOptions<RetentionOptions> options, IOptions<JobOptions> jobOptions, TimeProvider time, ILogger<Pruner> logger)
{
    private static readonly AgingTable ProcessedEvents = new("processed_events", "event_id", "processed_at");
    private static readonly AgingTable Ledger = new("txn_ledger", "txn_id", "last_processed_at");
    private static readonly AgingTable Rejected = new("rejected_events", "id", "rejected_at");

    /// <summary>Redactions still waiting for their target age out with the processed events (the same cutoff).</summary>
    private static readonly AgingTable PendingRedactions = new("pending_redactions", "target_event_id", "received_at");

    /// <summary>Open jobs have no completed_at, so they never match (the index ix_jobs_completed_at holds finished ones only).</summary>
    private static readonly AgingTable FinishedJobs = new("jobs", "id", "completed_at");

    public async Task<PruneResult> PruneAsync(string trigger, CancellationToken ct)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var cutoff = now - settings.ProcessedEvents;
        var started = Stopwatch.GetTimestamp();
        try
        {
            long events = await DeleteInBatchesAsync(ProcessedEvents, cutoff, settings, ct);
            long ledger = await DeleteInBatchesAsync(Ledger, cutoff, settings, ct);
            await DeleteInBatchesAsync(PendingRedactions, cutoff, settings, ct); // counted under its table label
            long rejected = await DeleteInBatchesAsync(Rejected, now - settings.RejectedEvents, settings, ct);
            long jobs = await DeleteInBatchesAsync(FinishedJobs, now - jobOptions.Value.Retention, settings, ct);
            long changes = await DeleteChangesAsync(now - settings.Changes, settings, ct);

            AppServiceMetrics.RetentionRuns.WithLabels("success", trigger).Inc();
            AppServiceMetrics.RetentionLastSuccessTimestamp.SetToCurrentTimeUtc();
            Log.Pruned(logger, events, ledger, rejected, jobs, changes, cutoff, Stopwatch.GetElapsedTime(started).TotalMilliseconds, trigger);
            return new PruneResult(events, ledger, cutoff) { RejectedEventsDeleted = rejected, JobsDeleted = jobs, ChangesDeleted = changes };
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            AppServiceMetrics.RetentionRuns.WithLabels("failure", trigger).Inc();
            AppServiceMetrics.CountDatabaseError(ex, "retention");
            Log.PruneFailed(logger, ex, trigger);
            throw;
        }
    }

    /// <summary>
    /// Each retention batch reads only its oldest rows through an index: never a whole table, whatever the planner
    /// believes of its size (statistics lag a fast-growing table; a benchmark run saw one batch read all 21,539 pages of
    /// <c>change_log</c>). Set for the batch's own transaction only.
    /// </summary>
    private const string IndexOnlyPlans = "SELECT " + IngestSql.IndexDrivenPlans;

    private Task<long> DeleteInBatchesAsync(AgingTable table, DateTimeOffset cutoff, RetentionOptions settings, CancellationToken ct)
    {
        var counter = AppServiceMetrics.RetentionRowsDeleted.WithLabels(table.Table);
        return RetentionPacing.RunAsync(
            async token =>
            {
                await using var tx = await db.Database.BeginTransactionAsync(token);
                await db.Database.ExecuteSqlRawAsync(IndexOnlyPlans, token);
                int deleted = await db.Database.ExecuteSqlRawAsync(
                    table.DeleteBatchSql,
                    [new Npgsql.NpgsqlParameter("cutoff", cutoff.UtcDateTime), new Npgsql.NpgsqlParameter("batch", settings.BatchSize)],
                    token);
                await tx.CommitAsync(token);
                counter.Inc(deleted);
                return deleted;
            },
            settings,
            time,
            ct);
    }

    /// <summary>
    /// The change log, a prefix in feed order at a time (<see cref="ChangeSql.DeleteBatch"/>): the horizon moves with
    /// each batch, in the same statement, so a feed read sees the rows and the horizon of one moment.
    /// </summary>
    private Task<long> DeleteChangesAsync(DateTimeOffset cutoff, RetentionOptions settings, CancellationToken ct)
    {
        var counter = AppServiceMetrics.RetentionRowsDeleted.WithLabels("change_log");
        return RetentionPacing.RunAsync(
            async token =>
            {
                var connection = (Npgsql.NpgsqlConnection)db.Database.GetDbConnection();
                await db.Database.OpenConnectionAsync(token);
                try
                {
                    await using var tx = await connection.BeginTransactionAsync(token);
                    await using (var setPlans = new Npgsql.NpgsqlCommand(IndexOnlyPlans, connection, tx))
                    {
                        await setPlans.ExecuteNonQueryAsync(token);
                    }

                    await using var command = new Npgsql.NpgsqlCommand(ChangeSql.DeleteBatch, connection, tx);
                    command.Parameters.Add(SqlParameters.Timestamp(cutoff));
                    command.Parameters.Add(SqlParameters.Int(settings.BatchSize));
                    int deleted = (int)(await command.ExecuteScalarAsync(token))!;
                    await tx.CommitAsync(token);
                    counter.Inc(deleted);
                    return deleted;
                }
                finally
                {
                    await db.Database.CloseConnectionAsync();
                }
            },
            settings,
            time,
            ct);
    }

    /// <summary>A table whose rows age out by <paramref name="TimeColumn"/>, deleted by <paramref name="Key"/>.</summary>
    private sealed record AgingTable(string Table, string Key, string TimeColumn)
    {
        /// <summary>One batch, oldest first, so that an interrupted run still removed the oldest rows.</summary>
        public string DeleteBatchSql { get; } = $"""
            DELETE FROM {Table}
            WHERE {Key} = ANY(ARRAY(
                SELECT {Key} FROM {Table} WHERE {TimeColumn} < @cutoff ORDER BY {TimeColumn} LIMIT @batch))
            """;
    }
}
