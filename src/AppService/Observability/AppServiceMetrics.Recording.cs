using AppService.Data;
using AppService.Matrix;
using AppService.Transactions;
using Npgsql;
using Prometheus;

namespace AppService.Observability;

/// <summary>What the code records: the calls that move several series at once, and which exceptions count as database errors.</summary>
public static partial class AppServiceMetrics
{
    public static class FailureReasons
    {
        public const string BadRequest = "bad_request";
        public const string TooLarge = "too_large";
        public const string DatabaseUnavailable = "database_unavailable";
        public const string Error = "error";
    }

    /// <summary>Records a transaction that was committed (or recognised as a replay).</summary>
    public static void RecordIngest(IngestResult result, ParsedTransaction transaction)
    {
        if (result.Replayed)
        {
            TransactionsReplayed.Inc();
        }
        else
        {
            EphemeralReceived.WithLabels("ephemeral").Inc(transaction.EphemeralCount);
            EphemeralReceived.WithLabels("to_device").Inc(transaction.ToDeviceCount);
            EphemeralReceived.WithLabels("device_data").Inc(transaction.HasDeviceData ? 1 : 0);
        }

        EventsProcessed.Inc(result.NewEvents);
        EventsDuplicate.Inc(result.DuplicateEvents);
        if (!result.Replayed)
        {
            foreach (var r in transaction.Rejected)
            {
                EventsRejected.WithLabels(r.Code).Inc();
            }

            EventsRejected.WithLabels(Matrix.RejectionCodes.ProcessingFailed).Inc(result.QuarantinedEvents);
        }

        EventsPerTransaction.Observe(result.NewEvents + result.DuplicateEvents + result.RejectedEvents);
    }

    /// <summary>Marks a transaction acknowledged with 200 now.</summary>
    public static void TransactionAcknowledged()
    {
        Interlocked.Exchange(ref _lastTransactionTicks, Environment.TickCount64);
        LastTransactionTimestamp.SetToCurrentTimeUtc();
    }

    /// <summary>
    /// Restores the last-transaction time after a restart (from the ledger), unless one arrived meanwhile. Without it
    /// a restart would hide a homeserver that stopped sending hours ago.
    /// </summary>
    public static void RestoreLastTransaction(DateTimeOffset at)
    {
        long ageMs = (long)Math.Max(0, (DateTimeOffset.UtcNow - at).TotalMilliseconds);
        if (Interlocked.CompareExchange(ref _lastTransactionTicks, Environment.TickCount64 - ageMs, -1) == -1)
        {
            LastTransactionTimestamp.Set(at.ToUnixTimeMilliseconds() / 1000.0);
        }
    }

    /// <summary>Counts <paramref name="exception"/> as a database error of <paramref name="operation"/> if it is one.</summary>
    /// <summary>Counts the change rows of one committed transaction: its change set and the member rows a purge logged.</summary>
    public static void CountChanges(Projections.ChangeSet changes, int purged)
    {
        if (changes.Members.Count + purged > 0)
        {
            ChangesWritten.WithLabels(Projections.ChangeKinds.Member).Inc(changes.Members.Count + purged);
        }

        if (changes.Rooms.Count > 0)
        {
            ChangesWritten.WithLabels(Projections.ChangeKinds.Room).Inc(changes.Rooms.Count);
        }
    }

    public static void CountDatabaseError(Exception exception, string operation)
    {
        if (DatabaseFailures.IsDatabaseError(exception))
        {
            DatabaseErrors.WithLabels(operation).Inc();
        }
    }
}
