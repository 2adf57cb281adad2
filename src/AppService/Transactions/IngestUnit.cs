using AppService.Matrix;

namespace AppService.Transactions;

/// <summary>
/// What one database transaction applies: the whole parsed transaction (the normal path, one unit), or during the
/// safety net a group of its events (no ledger row, no rejections) and finally the rejections and the ledger row.
/// </summary>
internal sealed record IngestUnit(
    ParsedTransaction Transaction,
    List<MatrixEvent> Events,
    IReadOnlyList<RejectedEvent> Rejected,
    bool WritesLedger,
    int NewEventsBefore,
    int DistinctEvents)
{
    /// <summary>
    /// The final unit's redactions: applied in their groups before the rejections they may target were stored, so
    /// they clear stored content here, after the insert (the update is idempotent).
    /// </summary>
    public IReadOnlyList<MatrixEvent> LateRedactions { get; init; } = [];

    /// <summary>
    /// Whether the unit's transaction takes the txnId's lock. The safety net's groups and final unit do not: the
    /// salvage holds that lock for all of them at once (a session lock), so a concurrent copy of the transaction waits
    /// for the whole salvage instead of slipping in between two groups.
    /// </summary>
    public bool LocksTxn { get; init; } = true;

    /// <summary>A group carries no content hash: the ledger check never skips it.</summary>
    public byte[] ContentHash => WritesLedger ? Transaction.ContentHash : [];

    public static IngestUnit Whole(ParsedTransaction t)
    {
        var events = DistinctById(t.Events);
        return new(t, events, DistinctRejected(t.Rejected), WritesLedger: true, 0, events.Count);
    }

    /// <summary>
    /// The same rejected event twice in one transaction is one rejected event (stored once: rejected_events is unique
    /// by event id), as a valid one is applied once; the ledger counts what is stored. Rejected events without an id
    /// are each their own.
    /// </summary>
    public static IReadOnlyList<RejectedEvent> DistinctRejected(IReadOnlyList<RejectedEvent> rejected)
    {
        if (rejected.Count < 2)
        {
            return rejected;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        return rejected.Where(r => r.EventId is null || seen.Add(MatrixText.StorableId(r.EventId)!)).ToList();
    }

    public static IngestUnit Group(List<MatrixEvent> events) =>
        new(new ParsedTransaction(), events, [], WritesLedger: false, 0, events.Count) { LocksTxn = false };

    public static IngestUnit Final(ParsedTransaction t, List<RejectedEvent> quarantined, int newEvents)
    {
        var failed = quarantined.Select(q => q.EventId).ToHashSet(StringComparer.Ordinal);
        var events = DistinctById(t.Events);
        return new(t, [], DistinctRejected([.. t.Rejected, .. quarantined]), WritesLedger: true, newEvents, events.Count - quarantined.Count)
        {
            LateRedactions = events.Where(e => e.Redacts is not null && !failed.Contains(e.EventId)).ToList(),
            LocksTxn = false,
        };
    }

    /// <summary>The same event twice in one transaction is applied once, at its first position.</summary>
    public static List<MatrixEvent> DistinctById(List<MatrixEvent> events)
    {
        var seen = new HashSet<string>(events.Count, StringComparer.Ordinal);
        var result = new List<MatrixEvent>(events.Count);
        foreach (var e in events)
        {
            if (seen.Add(e.EventId))
            {
                result.Add(e);
            }
        }

        return result;
    }
}
