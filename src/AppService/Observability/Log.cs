namespace AppService.Observability;

/// <summary>Source-generated logs of hosting and operations (event ids 200-299). Tokens are never logged.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Not ready: {Count} database migration(s) pending (apply deploy/migrations.sql or set AppService:MigrateOnStartup=true)")]
    public static partial void NotReadyMigrationsPending(ILogger logger, int count);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Not ready: the database cannot be reached ({Error})")]
    public static partial void NotReadyDatabaseUnreachable(ILogger logger, LogText error);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Not ready: the database is read-only (a standby, or a primary being demoted); the connection pool is cleared")]
    public static partial void NotReadyReadOnly(ILogger logger);

    // The startup self-check: exactly one of 210-217 per start.
    [LoggerMessage(EventId = 210, Level = LogLevel.Information, Message = "Homeserver self-check skipped: AppService:HomeserverUrl is not set")]
    public static partial void SelfCheckSkipped(ILogger logger);

    [LoggerMessage(EventId = 211, Level = LogLevel.Information, Message = "Homeserver self-check OK: {HomeserverUrl} accepted our as_token and reached us back at {RegistrationUrl} (ping {TransactionId}, {DurationMs} ms)")]
    public static partial void SelfCheckOk(ILogger logger, LogText homeserverUrl, LogText registrationUrl, LogText transactionId, long? durationMs);

    [LoggerMessage(EventId = 212, Level = LogLevel.Warning, Message = "Homeserver self-check: {HomeserverUrl} answered the ping, but ping {TransactionId} did not reach this process: does the registration url {RegistrationUrl} point at another instance?")]
    public static partial void SelfCheckPingElsewhere(ILogger logger, LogText homeserverUrl, LogText registrationUrl, LogText transactionId);

    [LoggerMessage(EventId = 213, Level = LogLevel.Warning, Message = "Homeserver self-check: {HomeserverUrl} is reachable but could not reach us at {RegistrationUrl} ({Status} {ErrCode}): transactions will not arrive until it can")]
    public static partial void SelfCheckHomeserverCannotReachUs(ILogger logger, LogText homeserverUrl, LogText registrationUrl, int status, LogText errCode);

    [LoggerMessage(EventId = 214, Level = LogLevel.Warning, Message = "Homeserver self-check: {HomeserverUrl} refused our as_token or appservice id '{AppserviceId}' ({Status} {ErrCode}): is this registration file loaded by the homeserver?")]
    public static partial void SelfCheckRefused(ILogger logger, LogText homeserverUrl, LogText appserviceId, int status, LogText errCode);

    [LoggerMessage(EventId = 215, Level = LogLevel.Information, Message = "Homeserver self-check: {HomeserverUrl} is reachable but has no appservice ping endpoint ({Status}; Dendrite, or Synapse before 1.84): whether it can reach us at {RegistrationUrl} is not checked")]
    public static partial void SelfCheckPingUnsupported(ILogger logger, LogText homeserverUrl, LogText registrationUrl, int status);

    [LoggerMessage(EventId = 216, Level = LogLevel.Warning, Message = "Homeserver self-check: {HomeserverUrl} cannot be reached after {Attempts} attempt(s) ({Error}); the service runs anyway and accepts transactions when the homeserver is up")]
    public static partial void SelfCheckUnreachable(ILogger logger, LogText homeserverUrl, int attempts, LogText error);

    [LoggerMessage(EventId = 217, Level = LogLevel.Warning, Message = "Homeserver self-check: {HomeserverUrl} answered the ping with {Status} {ErrCode}")]
    public static partial void SelfCheckUnexpected(ILogger logger, LogText homeserverUrl, int status, LogText errCode);

    [LoggerMessage(EventId = 218, Level = LogLevel.Debug, Message = "Ping of the homeserver, attempt {Attempt}, failed ({Error}); retrying in {DelaySeconds} s")]
    public static partial void SelfCheckRetrying(ILogger logger, int attempt, LogText error, double delaySeconds);

    [LoggerMessage(EventId = 219, Level = LogLevel.Debug, Message = "Last transaction time restored from the ledger: {LastProcessedAt:o}")]
    public static partial void LastTransactionRestored(ILogger logger, DateTimeOffset lastProcessedAt);

    [LoggerMessage(EventId = 220, Level = LogLevel.Debug, Message = "Could not read the last transaction time from the ledger ({Error})")]
    public static partial void LastTransactionNotRestored(ILogger logger, LogText error);
}
