using AppService.Observability;

namespace AppService.Homeserver;

/// <summary>Source-generated logs of homeserver work (event ids 1200-1299). Tokens are never logged; errors are the homeserver's errcode and message.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Warning, Message = "AppService:HomeserverUrl is not set: {PendingJobs} homeserver job(s) wait (joins, resyncs, drift checks) until it is configured; ingest is unaffected")]
    public static partial void HomeserverNotConfigured(ILogger logger, long pendingJobs);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Joined {RoomId} (attempt {Attempt})")]
    public static partial void Joined(ILogger logger, LogText roomId, int attempt);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Resynced {RoomId} ({Reason}) from {Members} member and {StateEvents} state events ({Skipped} unreadable): {Written} member rows written, {Deleted} deleted, {Kept} newer rows kept")]
    public static partial void Resynced(ILogger logger, LogText roomId, LogText reason, int members, int stateEvents, int skipped, int written, int deleted, int kept);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "Resync of {RoomId} not applied: {Outcome}")]
    public static partial void ResyncNotApplied(ILogger logger, LogText roomId, LogText outcome);

    [LoggerMessage(EventId = 1216, Level = LogLevel.Information, Message = "Room {RoomId} settled as not joined: the homeserver says the bot's membership is {Membership} (ours was {Ours})")]
    public static partial void BotMembershipSettled(ILogger logger, LogText roomId, LogText ours, LogText membership);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Warning, Message = "Drift in {RoomId}: {Detail}; resync queued")]
    public static partial void DriftFound(ILogger logger, LogText roomId, LogText detail);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Warning, Message = "{JobKind} job {JobId} for {RoomId} failed (attempt {Attempt}): {Error}; retry in {RetryDelay}")]
    public static partial void JobRetrying(ILogger logger, LogText jobKind, long jobId, LogText roomId, int attempt, LogText error, TimeSpan retryDelay);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Error, Message = "{JobKind} job {JobId} for {RoomId} given up after {Attempt} attempts: {Error}")]
    public static partial void JobGivenUp(ILogger logger, LogText jobKind, long jobId, LogText roomId, int attempt, LogText error);

    [LoggerMessage(EventId = 1207, Level = LogLevel.Error, Message = "Job worker loop failed; retrying in {Delay}")]
    public static partial void WorkerLoopFailed(ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(EventId = 1208, Level = LogLevel.Debug, Message = "Claimed {Count} job(s)")]
    public static partial void Claimed(ILogger logger, int count);

    [LoggerMessage(EventId = 1210, Level = LogLevel.Debug, Message = "Drift check scheduled for {Count} room(s)")]
    public static partial void DriftChecksScheduled(ILogger logger, int count);

    [LoggerMessage(EventId = 1215, Level = LogLevel.Warning, Message = "Drift of the bot's membership: the homeserver says the bot is joined to {Count} room(s) we hold as not joined; resync queued")]
    public static partial void BotMembershipDrift(ILogger logger, int count);

    [LoggerMessage(EventId = 1211, Level = LogLevel.Error, Message = "Drift check scheduling failed")]
    public static partial void DriftSchedulingFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1212, Level = LogLevel.Error, Message = "Could not record how {JobKind} job {JobId} for {RoomId} ended; it runs again when its lease ends at {LockedUntil}")]
    public static partial void JobNotRecorded(ILogger logger, Exception exception, LogText jobKind, long jobId, LogText roomId, DateTimeOffset lockedUntil);
}
