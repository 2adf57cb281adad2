using System.Globalization;
using AppService.Simulator.Workload;

namespace AppService.Simulator.Sending;

internal sealed record PlanOptions
{
    public HomeserverMode Mode { get; init; } = HomeserverMode.Synapse;

    public Faults Faults { get; init; } = Faults.None;

    public int ConcurrentCopies { get; init; } = 8;

    public long Seed { get; init; } = 1;
}

/// <summary>
/// Cuts the pushed events into transactions the way Synapse or Dendrite does, then injects the requested
/// faults. Deterministic: the same workload and options give the same plan (its own random stream, so adding
/// a fault does not change the workload).
/// </summary>
internal sealed class TransactionPlanner
{
    public const int SynapseMaxEvents = 100;
    public const int DendriteMaxEvents = 50;

    private readonly Workload.Workload _workload;
    private readonly PlanOptions _o;
    private readonly SeededRandom _rng;
    private readonly Dictionary<string, int> _injected = new(StringComparer.Ordinal);
    private readonly List<string> _usedTxnIds = [];
    private long _synapseCounter;
    private long _dendriteLastNs;
    private int _reuseNext = -1;

    private TransactionPlanner(Workload.Workload workload, PlanOptions options)
    {
        _workload = workload;
        _o = options;
        _rng = SeededRandom.For(options.Seed, "plan-" + options.Mode);
        // With txn-restart the sequence starts at 1 so the restarted ids really collide with committed ones.
        _synapseCounter = options.Faults.HasFlag(Faults.TxnRestart) ? 0 : _rng.Next(1000);
    }

    public static SendPlan Plan(Workload.Workload workload, PlanOptions options) => new TransactionPlanner(workload, options).Build();

    /// <summary>Every transaction's events again, one copy each, under txnIds never used by the plan.</summary>
    public static IReadOnlyList<PlannedTransaction> DuplicateOnly(SendPlan plan)
    {
        var numeric = plan.Transactions.Select(t => long.Parse(t.TxnId, CultureInfo.InvariantCulture)).Max();
        var result = new List<PlannedTransaction>();
        foreach (var t in plan.Transactions.Where(t => t.Kind is TransactionKind.Normal or TransactionKind.Restarted))
        {
            numeric += plan.Mode == HomeserverMode.Dendrite ? 1_000_000 : 1;
            result.Add(new PlannedTransaction
            {
                TxnId = numeric.ToString(CultureInfo.InvariantCulture),
                Events = t.Events,
                Kind = TransactionKind.DuplicateOnly,
            });
        }
        return result;
    }

    private SendPlan Build()
    {
        var batches = _o.Mode == HomeserverMode.Synapse ? SynapseBatches() : DendriteBatches();
        if (_o.Faults.HasFlag(Faults.Poison))
        {
            InjectPoison(batches);
        }
        var transactions = new List<PlannedTransaction>();
        var delivered = new List<SimEvent>();
        var copies = _o.Faults.HasFlag(Faults.Concurrent) ? Math.Max(2, _o.ConcurrentCopies) : 1;
        var restartAt = _o.Faults.HasFlag(Faults.TxnRestart) ? batches.Count / 2 : -1;
        for (var b = 0; b < batches.Count; b++)
        {
            var events = batches[b];
            var kind = TransactionKind.Normal;
            if (b == restartAt)
            {
                _reuseNext = 0; // from here on, txnIds start again at the first one ever used
            }
            if (_reuseNext >= 0 && _reuseNext < _usedTxnIds.Count)
            {
                kind = TransactionKind.Restarted;
                Count("restarted_txn_ids");
            }
            if (_o.Faults.HasFlag(Faults.Duplicates) && delivered.Count > 0 && _rng.Chance(0.05))
            {
                events = MixInOldEvents(events, delivered);
            }
            if (_o.Mode == HomeserverMode.Dendrite && events.Count >= 2 && _rng.Chance(0.1))
            {
                // Same txnId re-sent with more events: first a prefix, later the whole batch (facts §2.6).
                var txnId = NextTxnId(events[0]);
                transactions.Add(new PlannedTransaction
                {
                    TxnId = txnId, Events = events.Take(_rng.Next(1, events.Count)).ToList(),
                    Kind = TransactionKind.DendritePrefix, Copies = copies,
                });
                transactions.Add(new PlannedTransaction { TxnId = txnId, Events = events, Kind = kind, Copies = copies });
                Count("dendrite_same_txn_id_regrown");
            }
            else
            {
                transactions.Add(new PlannedTransaction { TxnId = NextTxnId(events[0]), Events = events, Kind = kind, Copies = copies });
            }
            delivered.AddRange(events);
            if (_o.Faults.HasFlag(Faults.Duplicates))
            {
                AddReplays(transactions, delivered, copies);
            }
        }
        if (copies > 1)
        {
            _injected["concurrent_copies_per_transaction"] = copies;
        }
        return new SendPlan { Transactions = transactions, Mode = _o.Mode, Faults = _o.Faults, Injected = _injected };
    }

    private void Count(string what, int n = 1) => _injected[what] = _injected.GetValueOrDefault(what) + n;

    private string NextTxnId(SimEvent first)
    {
        if (_reuseNext >= 0 && _reuseNext < _usedTxnIds.Count)
        {
            return _usedTxnIds[_reuseNext++];
        }
        string id;
        if (_o.Mode == HomeserverMode.Synapse)
        {
            // One sequence shared by every appservice: increasing, with gaps (facts §2.3).
            _synapseCounter += 1 + (_rng.Chance(0.1) ? _rng.Next(1, 4) : 0);
            id = _synapseCounter.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            // Nanosecond timestamp of the first message of the batch (facts §2.6).
            var ns = Math.Max(_dendriteLastNs + 1, (Math.Abs(first.OriginServerTs) * 1_000_000) + _rng.Next(1_000_000));
            _dendriteLastNs = ns;
            id = ns.ToString(CultureInfo.InvariantCulture);
        }
        if (_reuseNext < 0)
        {
            _usedTxnIds.Add(id);
        }
        return id;
    }

    private List<SimEvent> PushedEvents() =>
        _workload.Pushed.Where(e => _o.Mode == HomeserverMode.Synapse || e.Type != "m.room.redaction").ToList();

    /// <summary>Synapse: mostly full batches of 100 under load, sometimes fewer.</summary>
    private List<List<SimEvent>> SynapseBatches()
    {
        var pushed = PushedEvents();
        var batches = new List<List<SimEvent>>();
        for (var i = 0; i < pushed.Count;)
        {
            var size = _rng.Chance(0.7) ? SynapseMaxEvents : _rng.Next(1, SynapseMaxEvents);
            size = Math.Min(size, pushed.Count - i);
            batches.Add(pushed.GetRange(i, size));
            i += size;
        }
        return batches;
    }

    /// <summary>Dendrite: up to 50 events, and after a join of the bot the room's current state re-sent
    /// (AddsStateEventIDs after a federated join), which the service has partly seen already.</summary>
    private List<List<SimEvent>> DendriteBatches()
    {
        var o = _workload.Options;
        var state = new HomeserverState(o.BotUserId, o.GhostPrefix);
        foreach (var (roomId, version) in _workload.Rooms)
        {
            state.AddRoom(roomId, version);
        }
        var batches = new List<List<SimEvent>>();
        var current = new List<SimEvent>();
        var newInBatch = 0;
        var limit = NextDendriteSize();
        foreach (var e in _workload.Stream)
        {
            state.Apply(e);
            if (!e.Pushed || e.Type == "m.room.redaction")
            {
                continue; // Dendrite never pushes redactions (facts §2.6)
            }
            current.Add(e);
            newInBatch++;
            if (e.Type == "m.room.member" && e.StateKey == o.BotUserId && HomeserverState.ReadString(e.Content, "membership") == "join")
            {
                var resent = state.Rooms[e.RoomId!].State.Values.Where(s => s != e).OrderBy(s => s.Index).ToList();
                current.AddRange(resent);
                Count("dendrite_resent_state_events", resent.Count);
            }
            if (newInBatch >= limit)
            {
                batches.Add(current);
                current = [];
                newInBatch = 0;
                limit = NextDendriteSize();
            }
        }
        if (current.Count > 0)
        {
            batches.Add(current);
        }
        return batches;
    }

    private int NextDendriteSize() => _rng.Chance(0.7) ? DendriteMaxEvents : _rng.Next(1, DendriteMaxEvents);

    /// <summary>Two of each poison kind spread over the run (at least one per kind), about a third of them
    /// re-sent in a later transaction.</summary>
    private void InjectPoison(List<List<SimEvent>> batches)
    {
        var factory = new PoisonFactory(_rng, _workload.Options.ServerName);
        var kinds = PoisonFactory.Kinds;
        var total = Math.Min(kinds.Length * 2, Math.Max(kinds.Length, batches.Count));
        for (var p = 0; p < total; p++)
        {
            var b = (int)((long)p * batches.Count / total);
            var batch = batches[b];
            var near = batch[_rng.Next(batch.Count)];
            var poison = factory.Create(kinds[p % kinds.Length], near);
            batch.Insert(_rng.Next(batch.Count + 1), poison);
            Count("poison_events");
            Count("poison_" + poison.PoisonKind);
            if (poison.EventId is not null && b + 1 < batches.Count && _rng.Chance(0.35))
            {
                var later = batches[b + 1 + _rng.Next(Math.Min(3, batches.Count - b - 1))];
                later.Insert(_rng.Next(later.Count + 1), poison);
                Count("poison_resent");
            }
        }
    }

    /// <summary>A few already delivered events mixed into a batch of new ones (a partly rewound position).</summary>
    private List<SimEvent> MixInOldEvents(List<SimEvent> events, List<SimEvent> delivered)
    {
        var mixed = new List<SimEvent>(events);
        var k = _rng.Next(1, 11);
        for (var i = 0; i < k; i++)
        {
            mixed.Insert(_rng.Next(mixed.Count + 1), delivered[_rng.Next(delivered.Count)]);
        }
        Count("old_events_mixed_into_new_transactions", k);
        return mixed;
    }

    /// <summary>Re-sent history under new txnIds: a rewound stream position (synapse#18532) or a whole earlier
    /// transaction delivered again (synapse#11447).</summary>
    private void AddReplays(List<PlannedTransaction> transactions, List<SimEvent> delivered, int copies)
    {
        if (_rng.Chance(0.05))
        {
            var length = Math.Min(delivered.Count, _rng.Next(10, SynapseMaxEvents + 1));
            var start = _rng.Next(delivered.Count - length + 1);
            transactions.Add(new PlannedTransaction
            {
                TxnId = NextTxnId(delivered[start]), Events = delivered.GetRange(start, length), Kind = TransactionKind.Replay, Copies = copies,
            });
            Count("replay_transactions");
            Count("replayed_events", length);
        }
        if (_rng.Chance(0.03))
        {
            var earlier = transactions[_rng.Next(transactions.Count)];
            transactions.Add(new PlannedTransaction
            {
                TxnId = NextTxnId(earlier.Events[0]), Events = earlier.Events, Kind = TransactionKind.Replay, Copies = copies,
            });
            Count("whole_transactions_redelivered");
        }
    }
}
