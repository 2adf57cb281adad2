using AppService.Observability;
using AppService.Projections;

namespace AppService.Transactions;

/// <summary>Source-generated logs of the ingest path (event ids 1000-1099). Tokens and event content are never logged.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Debug, Message = "Transaction {TxnId} replayed with the same {EventCount} events: nothing to do")]
    public static partial void TransactionReplayed(ILogger logger, LogText txnId, int eventCount);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Transaction id {TxnId} was seen before with other events ({EventCount} now): processing them, each still de-duplicated by event id")]
    public static partial void TransactionIdReused(ILogger logger, LogText txnId, int eventCount);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Event {EventId} in transaction {TxnId} rejected ({ReasonCode}): {Reason}")]
    public static partial void EventRejected(ILogger logger, LogText txnId, LogText eventId, LogText reasonCode, LogText reason);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Bot membership in {RoomId}: {Change} by {Sender}")]
    public static partial void BotMembershipChanged(ILogger logger, LogText roomId, MembershipChange change, LogText sender);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Transaction {TxnId}: {NewEvents} new, {DuplicateEvents} duplicate, {RejectedEvents} rejected events in {ElapsedMs:F1} ms")]
    public static partial void TransactionProcessed(ILogger logger, LogText txnId, int newEvents, int duplicateEvents, int rejectedEvents, double elapsedMs);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Transaction {TxnId} not acknowledged: the database is unavailable ({Error})")]
    public static partial void DatabaseUnavailable(ILogger logger, LogText txnId, LogText error);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Error, Message = "Transaction {TxnId} not acknowledged: processing failed")]
    public static partial void TransactionFailed(ILogger logger, Exception exception, LogText txnId);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "Transaction {TxnId} refused: {ErrCode} {Reason}")]
    public static partial void TransactionRefused(ILogger logger, LogText txnId, LogText errCode, LogText reason);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "Homeserver request to {Path} refused: {ErrCode}")]
    public static partial void HomeserverAuthFailed(ILogger logger, LogText path, LogText errCode);

    /// <summary>
    /// One line per room and transaction, however many of its state events disagreed (a stale room sends one per
    /// state key). Both are Warnings (the ingest logs only those by default): the first says the room became suspect,
    /// the next ones that it still is until its resync lands.
    /// </summary>
    public static void StateMismatches(ILogger logger, string txnId, RoomStateMismatches m)
    {
        var e = m.Example;
        if (m.WasSuspect)
        {
            StillSuspect(logger, m.RoomId, m.Count, txnId, e.EventId, e.Type, e.StateKey, e.ReplacesEventId ?? "(nothing)", e.HeldEventId);
        }
        else
        {
            BecameSuspect(logger, m.RoomId, m.Count, txnId, e.EventId, e.Type, e.StateKey, e.ReplacesEventId ?? "(nothing)", e.HeldEventId);
        }
    }

    [LoggerMessage(EventId = 1020, Level = LogLevel.Warning, Message = "Room {RoomId} is suspect: {MismatchCount} state events in transaction {TxnId} do not follow the events we hold and were not applied, e.g. {EventId} ({EventType}, '{StateKey}') replaces {ReplacesEventId}, but we hold {HeldEventId}; resync queued")]
    private static partial void BecameSuspect(ILogger logger, LogText roomId, int mismatchCount, LogText txnId, LogText eventId, LogText eventType, LogText stateKey, LogText replacesEventId, LogText heldEventId);

    [LoggerMessage(EventId = 1023, Level = LogLevel.Warning, Message = "Room {RoomId} is still suspect: {MismatchCount} state events in transaction {TxnId} do not follow the events we hold and were not applied, e.g. {EventId} ({EventType}, '{StateKey}') replaces {ReplacesEventId}, but we hold {HeldEventId}; resync queued")]
    private static partial void StillSuspect(ILogger logger, LogText roomId, int mismatchCount, LogText txnId, LogText eventId, LogText eventType, LogText stateKey, LogText replacesEventId, LogText heldEventId);

    [LoggerMessage(EventId = 1026, Level = LogLevel.Information, Message = "Room {RoomId}: soft-failed event {EventId} ({EventType}) from {Sender} recorded as processed, not applied (the homeserver did not make it current state)")]
    public static partial void SoftFailedSkipped(ILogger logger, LogText roomId, LogText eventId, LogText eventType, LogText sender);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Information, Message = "Room {RoomId}: current state event {EventId} ({EventType}, '{StateKey}') redacted; projection cleared as the redaction algorithm says")]
    public static partial void StateRedacted(ILogger logger, LogText roomId, LogText eventType, LogText stateKey, LogText eventId);

    [LoggerMessage(EventId = 1025, Level = LogLevel.Warning, Message = "Room {RoomId}: redaction {RedactionEventId} by {Redacter} of current state event {TargetEventId} ({EventType}, '{StateKey}') not applied: {Verdict} (another server's user below the redact power level, or not decidable yet: resync queued)")]
    public static partial void RedactionNotApplied(ILogger logger, LogText roomId, LogText redactionEventId, LogText redacter, LogText targetEventId, LogText eventType, LogText stateKey, RedactionVerdict verdict);

    [LoggerMessage(EventId = 1024, Level = LogLevel.Warning, Message = "Room {RoomId}: invite from {Inviter} refused (not in AppService:AutoJoin:AllowedInviters); the bot stays invited and does not join")]
    public static partial void InviteRefused(ILogger logger, LogText roomId, LogText inviter);

    [LoggerMessage(EventId = 1022, Level = LogLevel.Information, Message = "{JobKind} job for {RoomId} requested ({Reason})")]
    public static partial void JobQueued(ILogger logger, LogText jobKind, LogText roomId, LogText reason);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Warning, Message = "Transaction {TxnId} failed as a whole ({Error}): applying its {EventCount} events in smaller groups to quarantine the ones that fail alone")]
    public static partial void TransactionSalvaging(ILogger logger, LogText txnId, int eventCount, LogText error);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Error, Message = "Transaction {TxnId} not acknowledged: processing failed ({Error})")]
    public static partial void TransactionFailedSafe(ILogger logger, LogText txnId, LogText error);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Debug, Message = "Transaction {TxnId}: the client closed the connection before the body was read")]
    public static partial void TransactionAborted(ILogger logger, LogText txnId);
}
