namespace AppService.Data;

/// <summary>An event id that has been applied (table <c>processed_events</c>): the unique key that makes ingest exactly-once.</summary>
public sealed record ProcessedEvent(string EventId, string RoomId, string EventType, string TxnId, DateTimeOffset ProcessedAt);

/// <summary>An event that could not be processed, kept with the reason (table <c>rejected_events</c>).</summary>
public sealed record RejectedEventRecord(long Id, string? EventId, string? RoomId, string? EventType, string TxnId, string Reason, string Content, DateTimeOffset RejectedAt);

/// <summary>One homeserver transaction id, as last processed (table <c>txn_ledger</c>).</summary>
public sealed record LedgerEntry(string TxnId, byte[] ContentHash, int EventCount, int NewEventCount, int RejectedCount, DateTimeOffset FirstSeenAt, DateTimeOffset LastProcessedAt);

/// <summary>The id of the current state event per (room, type, state_key) (table <c>room_state</c>).</summary>
public sealed record RoomStateEntry(string RoomId, string EventType, string StateKey, string EventId);
