using AppService.Data;
using AppService.Observability;
using AppService.Matrix;
using Npgsql;

namespace AppService.Transactions;

/// <summary>The safety net: what happens when a transaction fails for a reason that is not the database being away.</summary>
public sealed partial class TransactionProcessor
{
    /// <summary>
    /// The safety net, run only after the whole transaction failed with a non-transient error. Applies the events again
    /// in halves, then quarters, ... down to single events, in order, each group in its own database transaction
    /// (own locks, own commit); an event that fails alone is quarantined as <c>processing_failed</c>. Then the parser's
    /// rejections, the quarantined events and the ledger row are written in a final transaction.
    /// <para>
    /// Exactly-once under a crash between groups: a committed group's events are in processed_events, so the
    /// homeserver's retry of the whole transaction sees them as duplicates and applies only the rest.
    /// A transient failure in any step propagates (503): nothing is quarantined because the database was away.
    /// </para>
    /// </summary>
    private async Task<IngestResult> SalvageAsync(string ledgerId, ParsedTransaction transaction, Exception failure, CancellationToken ct)
    {
        // The txnId's lock, held across every group and the final unit (which do not take it themselves): a concurrent
        // copy of this transaction (a homeserver that timed out and retried) waits for the whole salvage, instead of
        // applying a later group of its own between two of ours. On a connection of its own, outside the pool, so a group's failure
        // does not release it; if that connection breaks, the database is away and the groups fail too (503).
        long txnKey = Data.IngestSql.LockKey("txn", ledgerId);
        await using var txnLock = await salvageLocks.OpenConnectionAsync(ct);
        await using (var take = new NpgsqlCommand(Data.IngestSql.LockTxnForSalvage, txnLock))
        {
            take.Parameters.Add(Data.SqlParameters.Bigint(txnKey));
            await take.ExecuteNonQueryAsync(ct);
        }

        try
        {
            return await SalvageLockedAsync(ledgerId, transaction, failure, ct);
        }
        finally
        {
            if (txnLock.State == System.Data.ConnectionState.Open)
            {
                await using var release = new NpgsqlCommand(Data.IngestSql.UnlockTxnAfterSalvage, txnLock);
                release.Parameters.Add(Data.SqlParameters.Bigint(txnKey));
                await release.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }
    }

    private async Task<IngestResult> SalvageLockedAsync(string ledgerId, ParsedTransaction transaction, Exception failure, CancellationToken ct)
    {
        Log.TransactionSalvaging(logger, ledgerId, transaction.Events.Count, FailureText(failure));
        var events = IngestUnit.DistinctById(transaction.Events);
        var quarantined = new List<RejectedEvent>();
        int newEvents = 0;

        // Depth-first over halves, left before right: events are applied in their order.
        var pending = new Stack<(int Start, int Count)>();
        if (events.Count > 1)
        {
            pending.Push((events.Count / 2, events.Count - (events.Count / 2)));
            pending.Push((0, events.Count / 2));
        }
        else if (events.Count == 1)
        {
            pending.Push((0, 1));
        }

        while (pending.TryPop(out var group))
        {
            var slice = events.GetRange(group.Start, group.Count);
            try
            {
                newEvents += (await ExecuteAsync(ledgerId, IngestUnit.Group(slice), ct)).NewEvents;
            }
            catch (Exception ex) when (!DatabaseFailures.IsTransient(ex) && !ct.IsCancellationRequested)
            {
                if (group.Count == 1)
                {
                    quarantined.Add(Quarantine(transaction, slice[0], ex));
                    continue;
                }

                int half = group.Count / 2;
                pending.Push((group.Start + half, group.Count - half));
                pending.Push((group.Start, half));
            }
        }

        var final = await ExecuteAsync(ledgerId, IngestUnit.Final(transaction, quarantined, newEvents), ct);
        AppServiceMetrics.TransactionsSalvaged.Inc();
        return final with { QuarantinedEvents = quarantined.Count };
    }

    private RejectedEvent Quarantine(ParsedTransaction transaction, MatrixEvent e, Exception ex)
    {
        var raw = transaction.SourceOf(e);
        return new RejectedEvent(
            e.EventId,
            e.RoomId,
            e.Type,
            RejectionCodes.ProcessingFailed,
            MatrixText.Storable(FailureText(ex)),
            MatrixText.CutUtf8(raw.Span, options.Value.MaxEventBytes),
            raw.Length);
    }

    /// <summary>
    /// What is kept of an exception in rejected rows and logs: its type, and for PostgreSQL the SqlState and
    /// MessageText only. Detail, Where (the error context) and parameters can hold event content: never included.
    /// </summary>
    public static string FailureText(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is PostgresException pg)
            {
                return $"{pg.GetType().Name} {pg.SqlState}: {pg.MessageText}";
            }
        }

        var root = exception.GetBaseException();
        string message = root.Message.Length > 300 ? root.Message[..300] + "…" : root.Message;
        return $"{root.GetType().Name}: {message}";
    }
}
