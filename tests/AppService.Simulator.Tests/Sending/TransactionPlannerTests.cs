using AppService.Simulator.Oracle;
using AppService.Simulator.Sending;
using AppService.Simulator.Workload;
using SimWorkload = AppService.Simulator.Workload.Workload;

namespace AppService.Simulator.Tests.Sending;

public class TransactionPlannerTests
{
    private static readonly Lazy<SimWorkload> Shared = new(() => WorkloadGenerator.Generate(new WorkloadOptions { Events = 5000, Rooms = 15, Users = 120, Seed = 11 }));

    private static SimWorkload W => Shared.Value;

    private static SendPlan Plan(HomeserverMode mode, Faults faults = Faults.None, int copies = 8) =>
        TransactionPlanner.Plan(W, new PlanOptions { Mode = mode, Faults = faults, ConcurrentCopies = copies, Seed = 11 });

    private static string Describe(SendPlan plan) => string.Join("\n", plan.Transactions.Select(t =>
        $"{t.TxnId} {t.Kind} x{t.Copies}: {string.Join(",", t.Events.Select(e => e.EventId ?? "(none)"))}"));

    [Fact]
    public void Synapse_sends_at_most_100_events_per_transaction_under_increasing_txn_ids_with_gaps()
    {
        var plan = Plan(HomeserverMode.Synapse);

        Assert.All(plan.Transactions, t => Assert.InRange(t.Events.Count, 1, 100));
        var ids = plan.Transactions.Select(t => long.Parse(t.TxnId, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(ids.Zip(ids.Skip(1)).All(p => p.Second > p.First));
        Assert.Contains(ids.Zip(ids.Skip(1)), p => p.Second - p.First > 1);
        Assert.All(plan.Transactions, t => Assert.Equal(1, t.Copies));
    }

    [Fact]
    public void Without_faults_every_pushed_event_is_delivered_once_in_stream_order()
    {
        var delivered = Plan(HomeserverMode.Synapse).Transactions.SelectMany(t => t.Events).ToList();

        Assert.Equal(W.Pushed.ToList(), delivered);
    }

    [Fact]
    public void Same_seed_gives_the_same_plan()
    {
        Assert.Equal(Describe(Plan(HomeserverMode.Synapse, Faults.All)), Describe(Plan(HomeserverMode.Synapse, Faults.All)));
        Assert.Equal(Describe(Plan(HomeserverMode.Dendrite, Faults.All)), Describe(Plan(HomeserverMode.Dendrite, Faults.All)));
    }

    [Fact]
    public void Dendrite_sends_at_most_50_new_events_under_nanosecond_txn_ids_and_never_redactions()
    {
        var plan = Plan(HomeserverMode.Dendrite);
        var seen = new HashSet<string>();

        foreach (var t in plan.Transactions.Where(t => t.Kind == TransactionKind.Normal))
        {
            // Re-sent state may include history never pushed before: that comes on top of the 50.
            Assert.InRange(t.Events.Count(e => seen.Add(e.EventId!) && e.Pushed), 0, 50);
            Assert.True(long.Parse(t.TxnId, System.Globalization.CultureInfo.InvariantCulture) > 1_700_000_000_000_000_000L, t.TxnId);
        }
        Assert.DoesNotContain(plan.Transactions.SelectMany(t => t.Events), e => e.Type == "m.room.redaction");
    }

    [Fact]
    public void Dendrite_resends_state_after_the_bots_join_and_a_txn_id_with_more_events()
    {
        var plan = Plan(HomeserverMode.Dendrite);

        Assert.True(plan.Injected["dendrite_resent_state_events"] > 0);
        var prefixes = plan.Transactions.Where(t => t.Kind == TransactionKind.DendritePrefix).ToList();
        Assert.NotEmpty(prefixes);
        foreach (var prefix in prefixes)
        {
            var full = plan.Transactions.Single(t => t.TxnId == prefix.TxnId && t.Kind != TransactionKind.DendritePrefix);
            Assert.True(full.Events.Count > prefix.Events.Count);
            Assert.Equal(prefix.Events, full.Events.Take(prefix.Events.Count));
        }
    }

    [Fact]
    public void Txn_restart_reuses_committed_txn_ids_for_new_events()
    {
        var plan = Plan(HomeserverMode.Synapse, Faults.TxnRestart);

        var restarted = plan.Transactions.Where(t => t.Kind == TransactionKind.Restarted).ToList();
        Assert.NotEmpty(restarted);
        Assert.Equal("1", plan.Transactions[0].TxnId);
        Assert.Contains(restarted, t => t.TxnId == "1");
        var earlier = plan.Transactions.TakeWhile(t => t.Kind != TransactionKind.Restarted).ToDictionary(t => t.TxnId);
        Assert.All(restarted, t => Assert.Empty(t.Events.Intersect(earlier[t.TxnId].Events)));
    }

    [Fact]
    public void Duplicates_resend_delivered_events_under_new_txn_ids()
    {
        var plan = Plan(HomeserverMode.Synapse, Faults.Duplicates);
        var delivered = new HashSet<string>();
        var resent = 0;

        foreach (var t in plan.Transactions)
        {
            resent += t.Events.Count(e => !delivered.Add(e.EventId!));
        }
        Assert.True(resent > 100, $"{resent} events re-sent");
        Assert.Equal(plan.Transactions.Count, plan.Transactions.Select(t => t.TxnId).Distinct().Count());
        Assert.Equal(W.Pushed.Select(e => e.EventId!).ToHashSet(), delivered);
    }

    [Fact]
    public void Concurrent_delivers_every_transaction_in_several_copies()
    {
        Assert.All(Plan(HomeserverMode.Synapse, Faults.Concurrent, copies: 8).Transactions, t => Assert.Equal(8, t.Copies));
    }

    [Fact]
    public void Poison_injects_every_kind_and_resends_some()
    {
        var plan = Plan(HomeserverMode.Synapse, Faults.Poison);
        var poison = plan.Transactions.SelectMany(t => t.Events).Where(e => e.PoisonKind is not null).ToList();

        Assert.Equal(PoisonFactory.Kinds.Order(), poison.Select(p => p.PoisonKind!).Distinct().Order());
        Assert.All(poison.Where(p => PoisonFactory.RejectedKinds.Contains(p.PoisonKind)), p => Assert.NotNull(PoisonRules.Classify(p)));
        Assert.All(poison.Where(p => PoisonFactory.AppliedKinds.Contains(p.PoisonKind)), p => Assert.Null(PoisonRules.Classify(p)));
        Assert.True(plan.Injected.GetValueOrDefault("poison_resent") > 0);
    }

    [Fact]
    public void Duplicate_only_replays_every_transaction_under_new_txn_ids()
    {
        var plan = Plan(HomeserverMode.Synapse, Faults.TxnRestart);

        var replay = TransactionPlanner.DuplicateOnly(plan);

        var used = plan.Transactions.Select(t => t.TxnId).ToHashSet();
        Assert.All(replay, t => Assert.DoesNotContain(t.TxnId, used));
        Assert.Equal(plan.Transactions.SelectMany(t => t.Events), replay.SelectMany(t => t.Events));
    }

    [Fact]
    public void Faults_do_not_change_the_workload_events_or_their_order()
    {
        var plain = Plan(HomeserverMode.Synapse).Transactions.SelectMany(t => t.Events).ToList();
        var firsts = new List<SimEvent>();
        var seen = new HashSet<string>();
        foreach (var e in Plan(HomeserverMode.Synapse, Faults.All).Transactions.SelectMany(t => t.Events))
        {
            if (e.PoisonKind is null && seen.Add(e.EventId!))
            {
                firsts.Add(e);
            }
        }

        Assert.Equal(plain, firsts);
    }
}
