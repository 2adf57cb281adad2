using System.ComponentModel.DataAnnotations;

namespace AppService.Hosting;

/// <summary>
/// The <c>AppService:Retention</c> section: how long the de-duplication records and rejected events are kept, and
/// how the retention job runs (docs/operations.md "Retention"). It also deletes finished jobs, after <see cref="JobOptions.Retention"/>.
/// It also ages out the change log after <see cref="Changes"/>. Rooms, members, room state and open jobs are never pruned.
/// </summary>
public sealed class RetentionOptions
{
    public const string SectionName = "AppService:Retention";

    /// <summary>Run the background job. The admin endpoint works either way.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Age after which processed-event and ledger rows are deleted. It must exceed any homeserver retry or
    /// redelivery window: an event re-delivered after its row is gone is applied again.
    /// </summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00", ErrorMessage = "AppService:Retention:ProcessedEvents must be between 1 day and 10 years.")]
    public TimeSpan ProcessedEvents { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// Age after which quarantined events (rejected_events) are deleted. They are kept for an operator to inspect
    /// (GET /admin/v1/rejected-events); nothing depends on them once read.
    /// </summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00", ErrorMessage = "AppService:Retention:RejectedEvents must be between 1 day and 10 years.")]
    public TimeSpan RejectedEvents { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// Age after which change-log rows (the change feed, membership history, <c>members?at=</c>) are deleted, oldest
    /// first in feed order. A consumer whose cursor is older gets 410 and starts again from a snapshot.
    /// </summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00", ErrorMessage = "AppService:Retention:Changes must be between 1 day and 10 years.")]
    public TimeSpan Changes { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Rows deleted per statement; each batch is its own short transaction.</summary>
    [Range(100, 100_000, ErrorMessage = "AppService:Retention:BatchSize must be between 100 and 100000.")]
    public int BatchSize { get; set; } = 5000;

    /// <summary>
    /// The largest share of a run's wall time spent deleting: after a batch that took t, the run waits
    /// t x (1 - DutyCycle) / DutyCycle before the next one, so a run that has a backlog to delete (the first one after
    /// a long downtime, a lowered retention) leaves the database to the ingest most of the time. 1 = no pause.
    /// </summary>
    [Range(0.01, 1.0, ErrorMessage = "AppService:Retention:DutyCycle must be between 0.01 and 1.")]
    public double DutyCycle { get; set; } = 0.25;

    /// <summary>
    /// The pause after a batch that took <paramref name="batchTook"/>, for <see cref="DutyCycle"/>; at most
    /// <see cref="MaxPause"/>, so one batch that waited long on a lock does not stall the run for hours.
    /// </summary>
    public TimeSpan PauseAfter(TimeSpan batchTook)
    {
        if (DutyCycle >= 1.0 || batchTook <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var pause = batchTook * ((1.0 - DutyCycle) / DutyCycle);
        return pause < MaxPause ? pause : MaxPause;
    }

    /// <summary>The longest pause between two batches, whatever the batch took.</summary>
    public static readonly TimeSpan MaxPause = TimeSpan.FromMinutes(1);

    /// <summary>Time between two runs of the background job.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00", ErrorMessage = "AppService:Retention:Interval must be between 1 minute and 7 days.")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);
}
