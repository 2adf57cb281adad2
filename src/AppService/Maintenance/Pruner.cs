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
}

/// <summary>
/// Deletes processed-event and ledger rows older than <see cref="RetentionOptions.ProcessedEvents"/>, in batches of
/// <see cref="RetentionOptions.BatchSize"/> rows, each batch one statement and one short transaction, so that ingest
/// is never blocked for long. The batches are found through the time indexes (ix_processed_events_processed_at,
/// ix_txn_ledger_last_processed_at) and deleted by primary key. Projections (rooms, members, state) are never touched.
/// </summary>
public sealed class Pruner(AppDbContext db, IOptions<RetentionOptions> options, TimeProvider time, ILogger<Pruner> logger)
{
    // Oldest first, so an interrupted run still removed the oldest rows.
    private const string DeleteProcessedEvents = """
        DELETE FROM processed_events
        WHERE event_id = ANY(ARRAY(
            SELECT event_id FROM processed_events WHERE processed_at < @cutoff ORDER BY processed_at LIMIT @batch))
        """;

    private const string DeleteLedger = """
        DELETE FROM txn_ledger
        WHERE txn_id = ANY(ARRAY(
            SELECT txn_id FROM txn_ledger WHERE last_processed_at < @cutoff ORDER BY last_processed_at LIMIT @batch))
        """;

    /// <summary>Quarantined events older than <see cref="RetentionOptions.RejectedEvents"/> (ix_rejected_events_rejected_at).</summary>
    private const string DeleteRejected = """
        DELETE FROM rejected_events
        WHERE id = ANY(ARRAY(
            SELECT id FROM rejected_events WHERE rejected_at < @cutoff ORDER BY rejected_at LIMIT @batch))
        """;

    public async Task<PruneResult> PruneAsync(string trigger, CancellationToken ct)
    {
        var settings = options.Value;
        var cutoff = time.GetUtcNow() - settings.ProcessedEvents;
        var started = Stopwatch.GetTimestamp();
        try
        {
            long events = await DeleteInBatchesAsync(DeleteProcessedEvents, "processed_events", cutoff, settings.BatchSize, ct);
            long ledger = await DeleteInBatchesAsync(DeleteLedger, "txn_ledger", cutoff, settings.BatchSize, ct);
            long rejected = await DeleteInBatchesAsync(DeleteRejected, "rejected_events", time.GetUtcNow() - settings.RejectedEvents, settings.BatchSize, ct);

            AppServiceMetrics.RetentionRuns.WithLabels("success", trigger).Inc();
            AppServiceMetrics.RetentionLastSuccessTimestamp.SetToCurrentTimeUtc();
            Log.Pruned(logger, events, ledger, rejected, cutoff, Stopwatch.GetElapsedTime(started).TotalMilliseconds, trigger);
            return new PruneResult(events, ledger, cutoff) { RejectedEventsDeleted = rejected };
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            AppServiceMetrics.RetentionRuns.WithLabels("failure", trigger).Inc();
            AppServiceMetrics.CountDatabaseError(ex, "retention");
            Log.PruneFailed(logger, ex, trigger);
            throw;
        }
    }

    private async Task<long> DeleteInBatchesAsync(string sql, string table, DateTimeOffset cutoff, int batchSize, CancellationToken ct)
    {
        var counter = AppServiceMetrics.RetentionRowsDeleted.WithLabels(table);
        long total = 0;
        int deleted;
        do
        {
            deleted = await db.Database.ExecuteSqlRawAsync(
                sql,
                [new Npgsql.NpgsqlParameter("cutoff", cutoff.UtcDateTime), new Npgsql.NpgsqlParameter("batch", batchSize)],
                ct);
            total += deleted;
            counter.Inc(deleted);
        }
        while (deleted >= batchSize);

        return total;
    }
}
