using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AppService.Benchmarks.Live;

/// <summary>
/// The one table of issue 10: each goal's figure, its target and the verdict, from the phase files one run of
/// scripts/bench.sh wrote (first-minute, new, duplicate, mismatch, pool, big). A phase that did not run gives
/// no rows; a missing figure is "–" and no verdict.
/// </summary>
internal static class GoalReport
{
    public static int Run(string dir, string? markdownPath, string? jsonPath, TextWriter output)
    {
        PhaseReport? Load(string phase)
        {
            string path = Path.Combine(dir, phase + ".json");
            return File.Exists(path) ? JsonSerializer.Deserialize<PhaseReport>(File.ReadAllText(path), BenchJson.Options) : null;
        }

        TargetSummary? T(PhaseReport? p, string name) => p?.Targets.FirstOrDefault(t => t.Name == name);

        var rows = new List<Row>();
        var notes = new List<string>();

        var fresh = Load("new");
        var svc = T(fresh, "service");
        var proto = T(fresh, "prototype");
        if (svc is not null)
        {
            rows.Add(Ratio("1", "new events/s (body-chain, 1 in flight)", svc.EventsPerSecond, proto?.EventsPerSecond, ">= 1.00x prototype", r => r >= 1.0));
            rows.Add(Ratio("1", "p99 per transaction (ms)", svc.P99Ms, proto?.P99Ms, "<= prototype's", r => r <= 1.0));
            rows.Add(new Row("1", "service CPU per 100-event transaction (ms)", svc.CpuMsPerTransaction, proto?.CpuMsPerTransaction ?? double.NaN,
                proto is null ? double.NaN : svc.CpuMsPerTransaction / proto.CpuMsPerTransaction, "<= 1.6 ms", svc.CpuMsPerTransaction <= 1.6));
            rows.Add(new Row("1", "peak RSS (MiB)", svc.PeakRssMib ?? double.NaN, proto?.PeakRssMib ?? double.NaN,
                (svc.PeakRssMib / proto?.PeakRssMib) ?? double.NaN, "(reported)", null));

            rows.Add(new Row("2", "JIT compile rate in the timed rounds (methods/s)", svc.JitMethodsPerSecond ?? double.NaN, double.NaN, double.NaN,
                "< 20", svc.JitMethodsPerSecond is { } jit ? jit < 20 : null));
            if (svc.Warmup is { } w)
            {
                rows.Add(new Row("2", $"warm-up until the JIT settled (s; {w.JitCompiledMethods:0} methods compiled by then)", w.Seconds,
                    proto?.Warmup?.Seconds ?? double.NaN, double.NaN, "JIT < 20 methods/s", w.Settled));
            }

            rows.Add(new Row("2", "GC gen0 / gen1 / gen2 per 1,000 transactions",
                svc.Gen0Per1000Txn ?? double.NaN, double.NaN, double.NaN,
                string.Create(CultureInfo.InvariantCulture, $"(reported: {svc.Gen0Per1000Txn:0.0} / {svc.Gen1Per1000Txn:0.0} / {svc.Gen2Per1000Txn:0.0})"), null));
            notes.Add($"Runtime of the service: {svc.Runtime}; of the prototype: {proto?.Runtime ?? "not run"}.");
        }

        var first = Load("first-minute");
        if (T(first, "service") is { } fs)
        {
            var fp = T(first, "prototype");
            rows.Add(Ratio("2", "first minute after start: events/s", fs.EventsPerSecond, fp?.EventsPerSecond, "(reported)", null));
            rows.Add(Ratio("2", "first minute after start: p99 (ms)", fs.P99Ms, fp?.P99Ms, "(reported)", null));
            rows.Add(Ratio("2", "first minute after start: CPU per transaction (ms)", fs.CpuMsPerTransaction, fp?.CpuMsPerTransaction, "(reported)", null));
            rows.Add(new Row("2", "first minute: methods compiled by the JIT", fs.Rounds.Sum(r => r.JitMethods ?? 0), double.NaN, double.NaN, "(reported)", null));
        }

        var duplicate = Load("duplicate");
        if (T(duplicate, "service") is { } ds)
        {
            var dp = T(duplicate, "prototype");
            rows.Add(Ratio("1", "duplicate-only events/s (body.json)", ds.EventsPerSecond, dp?.EventsPerSecond, ">= 0.80x prototype", r => r >= 0.8));
            rows.Add(Ratio("1", "duplicate-only p99 (ms)", ds.P99Ms, dp?.P99Ms, "(reported)", null));
        }

        var big = Load("big");
        if (T(big, "big") is { } bb && T(big, "empty") is { } be)
        {
            rows.Add(Ratio("3", "events/s, 10M processed_events + 1M members (big) vs empty", bb.EventsPerSecond, be.EventsPerSecond, ">= 0.90x empty", r => r >= 0.9));
            if (T(big, "big-pruning") is { } bp)
            {
                rows.Add(Ratio("3", "events/s with retention pruning running vs not (big)", bp.EventsPerSecond, bb.EventsPerSecond, ">= 0.90x", r => r >= 0.9));
                notes.Add($"Goal 3: pruning deleted {bp.Rounds.Sum(r => r.PrunedRows ?? 0):N0} processed_events rows during the timed rounds.");
            }
        }

        var pool = Load("pool");
        if (T(pool, "pool-4") is { } p4 && T(pool, "pool-1") is { } p1)
        {
            rows.Add(Ratio("4", $"events/s, {p4.Connections} in flight for distinct rooms: pool 4 vs pool 1", p4.EventsPerSecond, p1.EventsPerSecond, ">= 1.60x", r => r >= 1.6));
            rows.Add(Ratio("4", "p99 (ms): pool 4 vs pool 1", p4.P99Ms, p1.P99Ms, "(reported)", null));
        }

        var mismatch = Load("mismatch");
        if (T(mismatch, "mismatch") is { } mm && T(mismatch, "normal") is { } mn)
        {
            rows.Add(Ratio("5", "mismatch path events/s vs normal path", mm.EventsPerSecond, mn.EventsPerSecond, ">= 0.90x (cost <= 10%)", r => r >= 0.9));
            rows.Add(Ratio("5", "mismatch path CPU per transaction (ms) vs normal", mm.CpuMsPerTransaction, mn.CpuMsPerTransaction, "<= 1.10x", r => r <= 1.1));
            string lines = Path.Combine(dir, "mismatch-log-lines.txt");
            if (File.Exists(lines) && long.TryParse(File.ReadAllText(lines).Trim(), out long logged))
            {
                long txns = mm.Rounds.Sum(r => r.Succeeded) + (mm.Warmup?.Transactions ?? 0);
                notes.Add(string.Create(CultureInfo.InvariantCulture,
                    $"Goal 5: {logged:N0} mismatch log lines for {txns:N0} mismatching transactions (warm-up included): {(double)logged / Math.Max(1, txns):0.0} per transaction " +
                    $"(one per room and transaction; the shared body has 8 rooms); {mm.StateMismatchesPer1000Txn:N0} mismatches counted per 1,000 transactions (53,000 = every state event)."));
            }
        }

        // Issue 19: no sequential scan of a hot-path table while any phase's timed rounds ran (a generic plan made on a
        // one-page table once cost 81,304 of them); each database counted once (two targets may share one).
        bool seqScansFailed = false;
        foreach (string phase in new[] { "new", "duplicate", "mismatch", "pool", "big" })
        {
            foreach (var t in Load(phase)?.Targets.Where(t => t.HotSeqScans is not null).DistinctBy(t => SeqScanProbe.Describe(t.HotSeqScans!)) ?? [])
            {
                bool failed = SeqScanProbe.AnyFailed(t.HotSeqScans!);
                seqScansFailed |= failed;
                rows.Add(new Row("19", $"sequential scans of hot-path tables in the timed rounds, {phase}/{t.Name}: {SeqScanProbe.Describe(t.HotSeqScans!)}",
                    t.HotSeqScans!.Values.Sum(v => v.Scans), double.NaN, double.NaN, "none of a table > BENCH_SEQSCAN_MIN_PAGES (512)", !failed));
            }
        }

        var md = new StringBuilder();
        md.AppendLine("| goal | measure | service | reference | ratio | target | met |");
        md.AppendLine("|---|---|---:|---:|---:|---|---|");
        foreach (var r in rows.OrderBy(r => r.Goal.Length).ThenBy(r => r.Goal, StringComparer.Ordinal))
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Goal} | {r.Measure} | {Fmt(r.Service)} | {Fmt(r.Reference)} | {Fmt(r.Ratio, "0.00")} | {r.Target} | {(r.Met is null ? "" : r.Met.Value ? "yes" : "**no**")} |");
        }

        md.AppendLine();
        md.AppendLine("Reference: the prototype (goal 1, first minute), the empty database (goal 3), pool 1 (goal 4), the normal path (goal 5).");
        foreach (string note in notes)
        {
            md.AppendLine(note);
        }

        output.Write(md.ToString());
        if (markdownPath is not null)
        {
            File.WriteAllText(markdownPath, md.ToString());
        }

        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(new { rows, notes }, BenchJson.Options));
        }

        if (seqScansFailed)
        {
            output.WriteLine("FAILED: PostgreSQL read a hot-path table by sequential scan during the timed rounds (rows of goal 19 above).");
            return 3;
        }

        return 0;
    }

    private static Row Ratio(string goal, string measure, double service, double? reference, string target, Func<double, bool>? met)
    {
        double ratio = reference is { } r && r != 0 ? service / r : double.NaN;
        return new Row(goal, measure, service, reference ?? double.NaN, ratio, target, met is null || double.IsNaN(ratio) ? null : met(ratio));
    }

    private static string Fmt(double value, string? format = null) =>
        double.IsNaN(value) ? "–" : value.ToString(format ?? (Math.Abs(value) >= 100 ? "#,0" : "0.00"), CultureInfo.InvariantCulture);

    private sealed record Row(string Goal, string Measure, double Service, double Reference, double Ratio, string Target, bool? Met);
}
