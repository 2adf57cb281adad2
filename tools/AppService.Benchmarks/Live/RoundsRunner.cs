using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

namespace AppService.Benchmarks.Live;

/// <summary>
/// One phase of the live benchmark: several targets (the service, the prototype, or one process under two workloads)
/// warmed up, then measured in alternating rounds (A B, B A, A B, ...) so that the machine's drift hits all alike;
/// each round is one wrk run. Per round: events/s, latency percentiles, the target's own CPU per transaction from
/// /proc deltas, and, where /metrics exists, JIT compilations and GC collections during the round.
/// The warm-up runs in chunks until the JIT compiles fewer than <see cref="RoundsOptions.JitRate"/> methods per
/// second of load (a target without /metrics: for the minimum warm-up time).
/// </summary>
internal sealed class RoundsRunner(RoundsOptions o, TextWriter output)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private int _runs;

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var targets = o.TargetSpecs.Select(s => Target.Parse(s, o)).ToList();
        output.WriteLine($"== {o.Phase}: {string.Join(" vs ", targets.Select(t => t.Name))}; {o.Description}");
        var warmups = new Dictionary<string, WarmupResult>(StringComparer.Ordinal);
        if (o.WarmupSeconds > 0)
        {
            foreach (var w in await WarmUpAsync(targets, ct))
            {
                warmups[w.Target] = w;
            }
        }

        // Sequential scans of the hot tables, per database (two targets may share one), over the timed rounds only.
        var scanned = o.Pg is null ? [] : targets.Where(t => t.Database is not null).Select(t => t.Database!).Distinct(StringComparer.Ordinal).ToList();
        var scansBefore = new Dictionary<string, Dictionary<string, (long Scans, long Pages)>>(StringComparer.Ordinal);
        foreach (string db in scanned)
        {
            scansBefore[db] = await SeqScanProbe.ReadAsync(o.Pg!, db, ct);
        }

        var rounds = targets.ToDictionary(t => t.Name, _ => new List<RoundResult>(), StringComparer.Ordinal);
        for (int r = 1; r <= o.Rounds; r++)
        {
            var order = r % 2 == 1 ? targets : Enumerable.Reverse(targets).ToList();
            foreach (var t in order)
            {
                var result = await RoundAsync(t, r, o.RoundSeconds, ct);
                rounds[t.Name].Add(result);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {r} {t.Name,-14} {result.EventsPerSecond,9:0} events/s  p50 {result.P50Ms,6:0.00} ms  p99 {result.P99Ms,6:0.00} ms  CPU {result.CpuMsPerTransaction,5:0.00} ms/txn" +
                    $"{(result.Failed > 0 ? $"  FAILED {result.Failed}" : "")}{(result.JitMethods is { } j ? $"  JIT {j:0}" : "")}{(result.PrunedRows is { } p ? $"  pruned {p}" : "")}"));
            }
        }

        var scans = new Dictionary<string, Dictionary<string, SeqScans>>(StringComparer.Ordinal);
        if (scanned.Count > 0)
        {
            await Task.Delay(SeqScanProbe.FlushWait, ct);
            foreach (string db in scanned)
            {
                scans[db] = SeqScanProbe.Delta(scansBefore[db], await SeqScanProbe.ReadAsync(o.Pg!, db, ct), o.SeqScanMinPages);
            }
        }

        var summaries = targets.Select(t => Summarise(t, warmups.GetValueOrDefault(t.Name), rounds[t.Name])
            with { HotSeqScans = t.Database is null ? null : scans.GetValueOrDefault(t.Database) }).ToList();
        var report = new PhaseReport(o.Phase, o.Description, o.Rounds, o.RoundSeconds, summaries);
        foreach (var s in summaries)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  median {s.Name,-14} {s.EventsPerSecond,9:0} events/s  p99 {s.P99Ms,6:0.00} ms  CPU {s.CpuMsPerTransaction,5:0.00} ms/txn  ({s.Runtime})"));
        }

        foreach (var s in summaries.Where(s => s.HotSeqScans is not null).DistinctBy(s => targets.First(t => t.Name == s.Name).Database))
        {
            bool failed = SeqScanProbe.AnyFailed(s.HotSeqScans!);
            output.WriteLine($"  hot-path sequential scans in the timed rounds ({s.Name}; fails above {o.SeqScanMinPages} pages): {SeqScanProbe.Describe(s.HotSeqScans!)}{(failed ? "  FAILED" : "")}");
        }

        if (o.Json is not null)
        {
            await File.WriteAllTextAsync(o.Json, JsonSerializer.Serialize(report, BenchJson.Options), ct);
        }

        return summaries.Any(s => s.Rounds.Any(r => r.Succeeded == 0)) ? 1 : 0;
    }

    private async Task<List<WarmupResult>> WarmUpAsync(List<Target> targets, CancellationToken ct)
    {
        var state = targets.ToDictionary(t => t.Name, _ => (Seconds: 0.0, Chunks: 0, Transactions: 0L, Rate: (double?)null, Compiled: (double?)null, Done: false), StringComparer.Ordinal);
        while (state.Values.Any(s => !s.Done))
        {
            foreach (var t in targets.Where(t => !state[t.Name].Done))
            {
                var before = await RuntimeCounters.ScrapeAsync(Http, t.MetricsUrl, ct);
                var wrk = await Wrk.RunAsync(Run(t, o.WarmupChunkSeconds), ct);
                var after = await RuntimeCounters.ScrapeAsync(Http, t.MetricsUrl, ct);
                var s = state[t.Name];
                s.Seconds += wrk.Seconds;
                s.Chunks++;
                s.Transactions += wrk.Succeeded;
                if (before is not null && after is not null)
                {
                    s.Rate = (after.JitCompiledMethods - before.JitCompiledMethods) / wrk.Seconds;
                    s.Compiled = after.JitCompiledMethods;
                }

                bool settled = s.Rate is null || s.Rate < o.JitRate;
                s.Done = (s.Seconds >= o.WarmupSeconds && settled) || s.Seconds >= o.WarmupMaxSeconds;
                state[t.Name] = s;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  warm-up {t.Name,-14} {s.Seconds,5:0} s  {wrk.Succeeded * t.EventsPerRequest / wrk.Seconds,9:0} events/s" +
                    $"{(s.Rate is { } rate ? $"  JIT {rate:0.0} methods/s" : "")}{(s.Done ? "  done" : "")}"));
            }
        }

        return targets.Select(t =>
        {
            var s = state[t.Name];
            return new WarmupResult(t.Name, Math.Round(s.Seconds, 1), s.Chunks, s.Transactions, Round(s.Rate), s.Compiled,
                Settled: s.Rate is null ? null : s.Rate < o.JitRate);
        }).ToList();
    }

    private async Task<RoundResult> RoundAsync(Target t, int round, int seconds, CancellationToken ct)
    {
        var counters = await RuntimeCounters.ScrapeAsync(Http, t.MetricsUrl, ct);
        double cpu = ProcessProbe.CpuMs(t.Pid);
        using var pruning = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var pruner = t.PruneUrl is null ? Task.CompletedTask : PruneWhileAsync(t, pruning.Token);

        var wrk = await Wrk.RunAsync(Run(t, seconds), ct);

        double cpuMs = ProcessProbe.CpuMs(t.Pid) - cpu;
        await pruning.CancelAsync();
        await pruner;
        var delta = (await RuntimeCounters.ScrapeAsync(Http, t.MetricsUrl, ct))?.Minus(counters!);
        long? pruned = t.PruneUrl is null ? null : (long?)delta?.PrunedEvents;
        long txns = wrk.Succeeded;
        return new RoundResult(
            round, Math.Round(wrk.Seconds, 2), wrk.Requests, wrk.Failed, txns * t.EventsPerRequest,
            Math.Round(txns * t.EventsPerRequest / wrk.Seconds, 1), wrk.P50Ms, wrk.P90Ms, wrk.P99Ms,
            Math.Round(cpuMs, 0), txns == 0 ? double.NaN : Math.Round(cpuMs / txns, 3),
            delta?.JitCompiledMethods, delta?.Gen0, delta?.Gen1, delta?.Gen2, delta?.StateMismatches, pruned,
            ProcessProbe.PeakRssMib(t.Pid) is { } rss ? Math.Round(rss, 1) : null);
    }

    /// <summary>
    /// Runs retention over and over while the round lasts (POST /admin/v1/maintenance/prune). What it deleted is read
    /// from the service's metrics: a call still running at the end of the round is cancelled and answers nothing.
    /// </summary>
    private static async Task PruneWhileAsync(Target t, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, t.PruneUrl!.TrimEnd('/') + "/admin/v1/maintenance/prune");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", t.AdminToken);
                using var response = await Http.SendAsync(request, ct);
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
                if (!response.IsSuccessStatusCode || json.RootElement.TryGetProperty("processed_events_deleted", out var none) && none.GetInt64() == 0)
                {
                    await Task.Delay(200, ct); // nothing left to prune (or it failed): do not spin
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or JsonException)
            {
                if (ct.IsCancellationRequested)
                {
                    break;
                }

                await Task.Delay(200, CancellationToken.None);
            }
        }
    }

    private WrkRun Run(Target t, int seconds) =>
        new(t.Url, t.Token, t.Script, t.Body, t.Threads, t.Connections, seconds, RunId());

    /// <summary>4 characters (the chain script's tag takes exactly 4): the phase's prefix and a base-36 counter.</summary>
    private string RunId()
    {
        const string digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        int n = ++_runs;
        return o.RunPrefix + digits[n / 1296 % 36] + digits[n / 36 % 36] + digits[n % 36];
    }

    private static TargetSummary Summarise(Target t, WarmupResult? warmup, List<RoundResult> rounds)
    {
        double seconds = rounds.Sum(r => r.Seconds);
        long txns = rounds.Sum(r => r.Requests - r.Failed);
        double? PerThousand(Func<RoundResult, double?> f) =>
            rounds.All(r => f(r) is not null) && txns > 0 ? Math.Round(rounds.Sum(r => f(r)!.Value) * 1000 / txns, 2) : null;
        return new TargetSummary(
            t.Name, ProcessProbe.IsAlive(t.Pid) ? ProcessProbe.RuntimeSettings(t.Pid) : "?", t.EventsPerRequest, t.Connections, warmup,
            Median(rounds.Select(r => r.EventsPerSecond)), Median(rounds.Select(r => r.P50Ms)), Median(rounds.Select(r => r.P99Ms)),
            Median(rounds.Select(r => r.CpuMsPerTransaction)),
            rounds.All(r => r.JitMethods is not null) && seconds > 0 ? Math.Round(rounds.Sum(r => r.JitMethods!.Value) / seconds, 2) : null,
            PerThousand(r => r.Gen0), PerThousand(r => r.Gen1), PerThousand(r => r.Gen2), PerThousand(r => r.StateMismatches),
            rounds.Sum(r => r.Failed), rounds.Max(r => r.PeakRssMib), rounds);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(double.IsFinite).Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 2) : null;
}

internal sealed record WarmupResult(string Target, double Seconds, int Chunks, long Transactions, double? LastJitMethodsPerSecond, double? JitCompiledMethods, bool? Settled);

internal sealed record RoundResult(
    int Round, double Seconds, long Requests, long Failed, long Events, double EventsPerSecond, double P50Ms, double P90Ms, double P99Ms,
    double CpuMs, double CpuMsPerTransaction, double? JitMethods, double? Gen0, double? Gen1, double? Gen2, double? StateMismatches,
    long? PrunedRows, double? PeakRssMib)
{
    public long Succeeded => Requests - Failed;
}

/// <summary>Medians over the rounds; JIT in methods per second of rounds, GC collections and mismatches per 1,000 transactions.</summary>
internal sealed record TargetSummary(
    string Name, string Runtime, int EventsPerRequest, int Connections, WarmupResult? Warmup, double EventsPerSecond, double P50Ms,
    double P99Ms, double CpuMsPerTransaction, double? JitMethodsPerSecond, double? Gen0Per1000Txn, double? Gen1Per1000Txn,
    double? Gen2Per1000Txn, double? StateMismatchesPer1000Txn, long Failed, double? PeakRssMib, List<RoundResult> Rounds)
{
    /// <summary>Sequential scans of each hot-path table of the target's database during the timed rounds (null: not counted).</summary>
    public Dictionary<string, SeqScans>? HotSeqScans { get; init; }
}

internal sealed record PhaseReport(string Phase, string Description, int Rounds, int RoundSeconds, List<TargetSummary> Targets);
