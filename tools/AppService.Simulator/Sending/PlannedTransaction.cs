using AppService.Simulator.Workload;

namespace AppService.Simulator.Sending;

/// <summary>Why a transaction is in the plan.</summary>
internal enum TransactionKind
{
    /// <summary>The next events of the stream.</summary>
    Normal,

    /// <summary>Already delivered events re-sent under a new txnId (a rewound stream position).</summary>
    Replay,

    /// <summary>New events under a txnId that was already used (txnIds restarted at 1).</summary>
    Restarted,

    /// <summary>Dendrite: the first, shorter delivery of a txnId that is re-sent later with more events.</summary>
    DendritePrefix,

    /// <summary>Every transaction's events again under new txnIds (<c>--duplicate-only</c>).</summary>
    DuplicateOnly,
}

/// <summary>One transaction to deliver: a txnId, its events in order, and how many concurrent copies.</summary>
internal sealed class PlannedTransaction
{
    public required string TxnId { get; init; }

    public required IReadOnlyList<SimEvent> Events { get; init; }

    public TransactionKind Kind { get; init; } = TransactionKind.Normal;

    /// <summary>Concurrent requests with this txnId and body (1 = normal).</summary>
    public int Copies { get; init; } = 1;

    public override string ToString() => $"{TxnId} ({Kind}, {Events.Count} events, x{Copies})";
}

/// <summary>The ordered transactions of a run and what was injected into them.</summary>
internal sealed class SendPlan
{
    public required IReadOnlyList<PlannedTransaction> Transactions { get; init; }

    public required HomeserverMode Mode { get; init; }

    public required Faults Faults { get; init; }

    /// <summary>Human-readable counts of what was injected (printed and put in the JSON report).</summary>
    public required IReadOnlyDictionary<string, int> Injected { get; init; }
}
