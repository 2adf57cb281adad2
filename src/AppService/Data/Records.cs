namespace AppService.Data;

/// <summary>An event id that has been applied (table <c>processed_events</c>): the unique key that makes ingest exactly-once.</summary>
public sealed record ProcessedEvent(string EventId, string RoomId, string EventType, string TxnId, DateTimeOffset ProcessedAt);

/// <summary>An event that could not be processed, kept with the reason (table <c>rejected_events</c>).</summary>
public sealed record RejectedEventRecord(long Id, string? EventId, string? RoomId, string? EventType, string TxnId, string Reason, string? Content, DateTimeOffset RejectedAt)
{
    /// <summary>Why, as a code (RejectionCodes; 'legacy' for rows from before codes existed).</summary>
    public string ReasonCode { get; init; } = "";

    /// <summary>Size of the event's JSON as received; <see cref="Content"/> is cut at MaxEventBytes.</summary>
    public int ContentBytes { get; init; }

    /// <summary>The redaction that removed <see cref="Content"/>, if any.</summary>
    public string? RedactedBy { get; init; }
}

/// <summary>One homeserver transaction id, as last processed (table <c>txn_ledger</c>).</summary>
public sealed record LedgerEntry(string TxnId, byte[] ContentHash, int EventCount, int NewEventCount, int RejectedCount, DateTimeOffset FirstSeenAt, DateTimeOffset LastProcessedAt);

/// <summary>
/// The id of the current state event per (room, type, state_key) (table <c>room_state</c>), for every type but
/// <c>m.room.member</c>: a member key's current event is its member row's (<c>room_members.event_id</c>).
/// </summary>
/// <param name="Sender">The sender of that event (the redaction rule compares servers); null for rows stored before it was kept.</param>
public sealed record RoomStateEntry(string RoomId, string EventType, string StateKey, string EventId, string? Sender = null);

/// <summary>
/// A redaction that arrived before its target (table <c>pending_redactions</c>): the target was never processed
/// when the redaction was. Applied, with the redaction rules, when the target arrives; aged out by retention with the
/// processed events.
/// </summary>
public sealed record PendingRedaction(string TargetEventId, string RoomId, string RedactionEventId, string Sender, DateTimeOffset ReceivedAt);

/// <summary>
/// One unit of homeserver work (table <c>jobs</c>), written in the same commit as the event that caused it and run by
/// the job worker. Open while <see cref="CompletedAt"/> is null; claimed while <see cref="LockedUntil"/> is in the future.
/// </summary>
/// <param name="Attempts">Runs since the last success (a claim counts, so a crash mid-run counts too); drives the backoff.</param>
/// <param name="LockedUntil">The claim's lease; also the fencing token a worker's completion must match.</param>
/// <param name="Rerun">The same work was asked for while this job was running: run it once more after it finishes.</param>
/// <param name="Outcome">What the last run did: done, skipped, stale, drift, or failed (gave up; see <see cref="LastError"/>).</param>
public sealed record Job(
    long Id,
    string Kind,
    string RoomId,
    string DedupKey,
    string Reason,
    int Attempts,
    DateTimeOffset RunAfter,
    DateTimeOffset? LockedUntil,
    bool Rerun,
    string? LastError,
    string? Outcome,
    string? Detail,
    DateTimeOffset CreatedAt,
    DateTimeOffset? CompletedAt);
