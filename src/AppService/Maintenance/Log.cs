using AppService.Observability;

namespace AppService.Maintenance;

/// <summary>Source-generated logs of maintenance (event ids 300-399).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Retention ({Trigger}): deleted {ProcessedEvents} processed event(s) and {Transactions} ledger row(s) older than {Cutoff:o}, and {RejectedEvents} rejected event(s), {Jobs} finished job(s) and {Changes} change-log row(s) past their own retention, in {ElapsedMs:F0} ms")]
    public static partial void Pruned(ILogger logger, long processedEvents, long transactions, long rejectedEvents, long jobs, long changes, DateTimeOffset cutoff, double elapsedMs, LogText trigger);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Retention ({Trigger}) failed; rows deleted before the failure stay deleted, the next run continues")]
    public static partial void PruneFailed(ILogger logger, Exception exception, LogText trigger);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "Retention: processed-event and ledger rows older than {ProcessedEvents}, rejected events older than {RejectedEvents} and finished jobs older than {Jobs} are deleted every {Interval}")]
    public static partial void RetentionScheduled(ILogger logger, TimeSpan processedEvents, TimeSpan rejectedEvents, TimeSpan jobs, TimeSpan interval);

    [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "Retention: the background job is disabled (AppService:Retention:Enabled=false); POST /admin/v1/maintenance/prune still works")]
    public static partial void RetentionDisabled(ILogger logger);
}
