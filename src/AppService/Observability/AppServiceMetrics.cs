using System.Diagnostics;
using AppService.Data;
using AppService.Matrix;
using AppService.Projections;
using Prometheus;

namespace AppService.Observability;

/// <summary>
/// The service's Prometheus metrics, served at <c>/metrics</c> (names are a public contract: README "Metrics").
/// Static, as prometheus-net intends: one set per process, whatever the number of hosts in it.
/// </summary>
public static partial class AppServiceMetrics
{
    // First field, so it runs before anything touches the default registry: the meter adapter must be configured
    // before it starts. Only the runtime's meter is exported. Others label their series with configuration:
    // Npgsql's pool name is the connection string, HttpClient's and Kestrel's carry host names and ports.
    private static readonly bool MeterAdapterConfigured = ConfigureMeterAdapter();

    // Transactions from the homeserver (after the hs_token check).
    public static readonly Counter TransactionsReceived = NewCounter("appservice_transactions_received_total", "Transactions received from the homeserver (authenticated PUT /transactions).");

    public static readonly Counter TransactionsReplayed = NewCounter("appservice_transactions_replayed_total", "Transactions acknowledged without work: the same txnId with the same events was already committed.");

    public static readonly Counter TransactionsFailed = NewCounter("appservice_transactions_failed_total", "Transactions not acknowledged with 200, by reason: bad_request, too_large, database_unavailable, error. The homeserver retries them.", "reason");

    public static readonly Histogram TransactionDuration = NewHistogram("appservice_transaction_duration_seconds", "Time from receiving a transaction to answering it, whatever the answer.", buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);

    public static readonly Histogram EventsPerTransaction = NewHistogram("appservice_transaction_events", "Events per committed transaction (new + duplicate + rejected).", buckets: [0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000]);

    public static readonly Gauge TransactionsInFlight = NewGauge("appservice_transactions_in_flight", "Transactions being processed now (above 1: the homeserver retried one that was still running).");

    public static readonly Gauge LastTransactionTimestamp = NewGauge("appservice_last_transaction_timestamp_seconds", "Unix time of the last transaction acknowledged with 200 (restored from the ledger at start); 0 if none ever.");

    public static readonly Gauge SecondsSinceLastTransaction = NewGauge("appservice_seconds_since_last_transaction", "Seconds since the last transaction acknowledged with 200, or since the process started if none. Homeservers fail silently: alert on this.");

    // Events.
    public static readonly Counter EventsProcessed = NewCounter("appservice_events_processed_total", "Events applied to the projections for the first time.");

    public static readonly Counter EventsDuplicate = NewCounter("appservice_events_duplicate_total", "Events skipped because their event_id was already processed (redelivery).");

    public static readonly Counter EventsRejected = NewCounter("appservice_events_rejected_total", "Events that could not be parsed or projected, stored in rejected_events and acknowledged, by reason (rejected_events.reason_code).", "reason");

    public static readonly Counter TransactionsSalvaged = NewCounter("appservice_transactions_salvaged_total", "Transactions that failed as a whole with a non-transient error and were applied again in smaller groups (the safety net), their failing events quarantined as processing_failed.");

    public static readonly Counter SnapshotEntriesSkipped = NewCounter("appservice_snapshot_entries_skipped_total", "Entries of a homeserver /state or /members answer a resync skipped as unusable (missing fields, invalid strings, wrong types).");

    public static readonly Counter RedactionsNotApplied = NewCounter("appservice_redactions_not_applied_total", "Redactions of current state not applied, by verdict: refused (the redacter is on another server than the target's sender and below the redact power level: the homeserver does not apply it either), undecided (power levels or the target's sender not known yet: a resync was queued).", "verdict");

    public static readonly Counter InvitesRefused = NewCounter("appservice_invites_refused_total", "Invites of the bot not followed by a join: the inviter matches no AppService:AutoJoin:AllowedInviters pattern.");

    public static readonly Counter EphemeralReceived = NewCounter("appservice_ephemeral_received_total", "Data that rides along with events and is counted, not stored, by kind: ephemeral (typing, receipts, presence; both keys, de-duplicated), to_device (messages), device_data (transactions with MSC3202 device lists or key counts).", "kind");

    public static readonly Counter StateMismatches = NewCounter("appservice_state_mismatches_total", "New state events that did not follow the event we held for their key (unsigned.replaces_state named another event, or none while we held one): not applied, their room marked suspect and resynced.");

    public static readonly Counter DriftFound = NewCounter("appservice_drift_found_total", "Drift checks that found the projection differing from the homeserver, by what they found: missed_events (an event we never processed, or a member differs), state_reset (the homeserver's current event is older than ours, or the key vanished), stale_snapshot (we processed its current event but hold an older one), bot_membership (the homeserver says the bot is not joined). Each is repaired by a resync.", "kind");

    public static readonly Counter SoftFailedSkipped = NewCounter("appservice_soft_failed_events_total", "New events the homeserver marked soft-failed (unsigned io.element.synapse.soft_failed or policy_server_spammy): recorded as processed, never applied to the projection.");

    // Process-wide.
    public static readonly Gauge HttpRequestsInFlight = NewGauge("appservice_http_requests_in_flight", "HTTP requests being served now (all routes except /metrics and /health).");

    public static readonly Gauge JobQueueDepth = NewGauge("appservice_job_queue_depth", "Open homeserver jobs (join, resync, drift_check): due, running or waiting to retry. Set by the job worker.");

    public static readonly Counter JobsFinished = NewCounter("appservice_jobs_finished_total", "Homeserver job runs that ended, by kind (join, resync, drift_check) and outcome (done, skipped, stale, drift, failed = gave up).", "kind", "outcome");

    public static readonly Counter HomeserverErrors = NewCounter("appservice_homeserver_errors_total", "Failed calls to the homeserver's client-server API, by operation (ping, join, resync, drift_check).", "operation");

    public static readonly Counter DatabaseErrors = NewCounter("appservice_database_errors_total", "Database operations that failed (connection, timeout, SQL error), by operation; each retry counts.", "operation");

    // Retention.
    public static readonly Counter RetentionRowsDeleted = NewCounter("appservice_retention_rows_deleted_total", "Rows deleted by retention, by table.", "table");

    public static readonly Counter RetentionRuns = NewCounter("appservice_retention_runs_total", "Retention runs, by result (success, failure) and trigger (schedule, admin).", "result", "trigger");

    public static readonly Gauge RetentionLastSuccessTimestamp = NewGauge("appservice_retention_last_success_timestamp_seconds", "Unix time of the last retention run that completed.");

    public static readonly Counter ChangesWritten = NewCounter("appservice_changes_written_total", "Rows appended to the change log (docs/change-feed.md), by kind (member, room), committed with the projection change they record.", "kind");

    public static readonly Gauge ChangeFeedPosition = NewGauge("appservice_change_feed_position", "The position (identity number) of the newest change the feed has handed out by this process: a consumer that is behind reads smaller ones.");

    public static readonly Gauge ChangeFeedLongPolls = NewGauge("appservice_change_feed_long_polls", "GET /admin/v1/changes requests waiting for a change now (long polls open).");

    private static readonly long ProcessStartTicks = Environment.TickCount64;
    private static long _lastTransactionTicks = -1;

    static AppServiceMetrics()
    {
        // Computed at scrape time, so the gauge keeps growing while nothing arrives.
        Metrics.DefaultRegistry.AddBeforeCollectCallback(() =>
        {
            long last = Interlocked.Read(ref _lastTransactionTicks);
            long since = Environment.TickCount64 - (last < 0 ? ProcessStartTicks : last);
            SecondsSinceLastTransaction.Set(since / 1000.0);
        });

        // Create the labelled series up front: a counter that appears only after its first increment breaks rate()
        // and "absent" alerts.
        foreach (string reason in new[] { FailureReasons.BadRequest, FailureReasons.TooLarge, FailureReasons.DatabaseUnavailable, FailureReasons.Error })
        {
            TransactionsFailed.WithLabels(reason);
        }

        foreach (string code in Matrix.RejectionCodes.All)
        {
            EventsRejected.WithLabels(code);
        }

        foreach (string table in new[] { "processed_events", "txn_ledger", "rejected_events", "jobs" })
        {
            RetentionRowsDeleted.WithLabels(table);
        }

        foreach (string operation in new[] { "ingest", "health", "retention", "startup", "request", "jobs" })
        {
            DatabaseErrors.WithLabels(operation);
        }

        HomeserverErrors.WithLabels("ping");
        foreach (string kind in new[] { JobKinds.Join, JobKinds.Resync, JobKinds.DriftCheck })
        {
            HomeserverErrors.WithLabels(kind);
            foreach (string outcome in new[] { JobOutcomes.Done, JobOutcomes.Skipped, JobOutcomes.Stale, JobOutcomes.Drift, JobOutcomes.Failed })
            {
                JobsFinished.WithLabels(kind, outcome);
            }
        }
    }

    private static bool ConfigureMeterAdapter()
    {
        Metrics.ConfigureMeterAdapter(o => o.InstrumentFilterPredicate = instrument => instrument.Meter.Name == "System.Runtime");
        return true;
    }

    /// <summary>Runs the static constructor: registers the scrape callback and the labelled series before the first scrape.</summary>
    public static void EnsureRegistered() => Debug.Assert(MeterAdapterConfigured, "the meter adapter is configured first");

    private static Counter NewCounter(string name, string help, params string[] labels) =>
        Metrics.CreateCounter(name, help, new CounterConfiguration { LabelNames = labels });

    private static Gauge NewGauge(string name, string help) => Metrics.CreateGauge(name, help);

    private static Histogram NewHistogram(string name, string help, double[] buckets) =>
        Metrics.CreateHistogram(name, help, new HistogramConfiguration { Buckets = buckets });
}
