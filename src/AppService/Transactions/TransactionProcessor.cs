using System.Security.Cryptography;
using System.Text;
using AppService.Data;
using AppService.Homeserver;
using AppService.Hosting;
using AppService.Matrix;
using AppService.Observability;
using AppService.Projections;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AppService.Transactions;

/// <summary>What one call of <see cref="TransactionProcessor.ProcessAsync"/> did, after commit.</summary>
public sealed record IngestResult(bool Replayed, int NewEvents, int DuplicateEvents, int RejectedEvents)
{
    /// <summary>Events the safety net quarantined (<c>processing_failed</c>); they are part of <see cref="RejectedEvents"/>.</summary>
    public int QuarantinedEvents { get; init; }
}

/// <summary>
/// Applies one homeserver transaction in ONE database transaction: lock the txnId and its rooms, insert the event ids
/// into <c>processed_events</c> (the unique key decides what is new), project only the new events in order, store
/// rejected events, record the ledger row, commit. The caller answers 200 only after this returns.
/// Homeserver work the events call for (join, resync) is only queued here, in the same commit, and run later by
/// the job worker: no homeserver I/O inside the transaction, nothing that delays the 200.
/// </summary>
public sealed partial class TransactionProcessor(
    AppDbContext db,
    BotIdentity bot,
    TimeProvider time,
    InvitePolicy invitePolicy,
    IOptions<AppServiceOptions> options,
    JobSignal jobSignal,
    ConnectionHygiene hygiene,
    SalvageLockSource salvageLocks,
    ILogger<TransactionProcessor> logger)
{
    public async Task<IngestResult> ProcessAsync(string txnId, ParsedTransaction transaction, CancellationToken cancellationToken)
    {
        string ledgerId = LedgerId(txnId);
        IngestResult result;
        try
        {
            result = await ExecuteAsync(ledgerId, IngestUnit.Whole(transaction), cancellationToken);
        }
        catch (Exception ex) when (!DatabaseFailures.IsTransient(ex) && !cancellationToken.IsCancellationRequested)
        {
            // Not the database being away: something in these events (or a bug in our projection code) fails every
            // time. The homeserver would retry this transaction forever and send nothing after it, so find the
            // event(s) that fail on their own, quarantine them, and apply the rest.
            result = await SalvageAsync(ledgerId, transaction, ex, cancellationToken);
        }

        AppServiceMetrics.RecordIngest(result, transaction);
        return result;
    }

    /// <summary>
    /// One unit in its own database transaction. A transient failure (connection lost, serialization failure,
    /// deadlock) re-runs the unit from scratch; the unique key makes a re-run after an unknown commit outcome harmless.
    /// </summary>
    private Task<IngestResult> ExecuteAsync(string ledgerId, IngestUnit unit, CancellationToken cancellationToken) =>
        db.Database.CreateExecutionStrategy().ExecuteAsync(
            async ct =>
            {
                try
                {
                    return await ProcessOnceAsync(ledgerId, unit, ct);
                }
                catch (Exception ex)
                {
                    AppServiceMetrics.CountDatabaseError(ex, "ingest"); // every failed attempt, retried or not
                    throw;
                }
            },
            cancellationToken);

    /// <summary>txnIds are opaque strings; one longer than 255 characters is stored by its hash, never refused.</summary>
    public static string LedgerId(string txnId) => txnId.Length <= 255
        ? txnId
        : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(txnId)));

    /// <summary>
    /// One attempt at one unit, in four named steps: load (one round trip: locks, the exactly-once insert, the state the
    /// new events touch), apply (no I/O), write and commit (one round trip), then report (logs and metrics, only once
    /// committed).
    /// </summary>
    private async Task<IngestResult> ProcessOnceAsync(string ledgerId, IngestUnit unit, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await using var tx = await SqlTransaction.BeginAsync(db, hygiene, "ingest", ct);
        var projection = new ProjectionBatch(bot.UserId, now, invitePolicy.Enabled, invitePolicy);

        var loaded = await IngestLoad.RunAsync(tx, ledgerId, unit, projection, now, ct);
        if (loaded.IsReplayOf(unit))
        {
            // Same txnId, same events: a retry of something already committed. Nothing to do.
            await tx.CommitAsync(ct);
            Log.TransactionReplayed(logger, ledgerId, unit.Transaction.TotalEvents);
            return new IngestResult(Replayed: true, 0, unit.Events.Count, 0);
        }

        if (loaded.LedgerHash is not null && unit.WritesLedger)
        {
            Log.TransactionIdReused(logger, ledgerId, unit.Transaction.TotalEvents);
        }

        foreach (var e in unit.Events)
        {
            if (loaded.NewIds.Contains(e.EventId))
            {
                projection.Apply(e);
            }
        }

        await IngestWrite.RunAndCommitAsync(tx, ledgerId, unit, projection, loaded.NewIds, now, ct);

        IngestReport.Committed(logger, ledgerId, unit, projection, bot.UserId, jobSignal);
        int newEvents = loaded.NewIds.Count + unit.NewEventsBefore;
        return new IngestResult(Replayed: false, newEvents, unit.DistinctEvents - newEvents, unit.Rejected.Count);
    }
}
