using System.Globalization;
using System.Text;
using System.Text.Json;
using AppService.Simulator.Oracle;
using AppService.Simulator.Sending;

namespace AppService.Simulator.Reporting;

/// <summary>One sending phase in the report (snake_case in JSON).</summary>
internal sealed record PhaseReport(
    string Name,
    int Transactions,
    int TransactionsAcknowledged,
    int Unacknowledged,
    long Events,
    double ElapsedSeconds,
    double EventsPerSecond,
    double TransactionsPerSecond,
    LatencySummary LatencyMs,
    LatencySummary RequestLatencyMs,
    long Retries,
    long HttpRequests,
    long Timeouts,
    long ConnectionErrors,
    long BytesSent,
    IReadOnlyDictionary<string, long> StatusCounts,
    double SimulatorCpuSeconds,
    double? ServiceCpuSeconds)
{
    public static PhaseReport From(SendPhaseResult r, int planned)
    {
        var seconds = Math.Max(r.Elapsed.TotalSeconds, 1e-9);
        return new PhaseReport(r.Name, planned, r.Acknowledged.Count, r.Unacknowledged, r.EventsAcknowledged, Math.Round(r.Elapsed.TotalSeconds, 3),
            Math.Round(r.EventsAcknowledged / seconds, 1), Math.Round(r.Acknowledged.Count / seconds, 2),
            Round(Percentiles.Summarize(r.TransactionLatenciesMs)), Round(Percentiles.Summarize(r.RequestLatenciesMs)),
            r.Retries, r.HttpRequests, r.Timeouts, r.ConnectionErrors, r.BytesSent,
            new SortedDictionary<string, long>(r.StatusCounts, StringComparer.Ordinal),
            Math.Round(r.SimulatorCpu.TotalSeconds, 3), r.ServiceCpu is { } cpu ? Math.Round(cpu.TotalSeconds, 3) : null);
    }

    private static LatencySummary Round(LatencySummary s) => new(s.Count, Math.Round(s.P50, 3), Math.Round(s.P95, 3),
        Math.Round(s.P99, 3), Math.Round(s.Max, 3), Math.Round(s.Mean, 3));
}

internal sealed record WorkloadReport(
    long Seed,
    int Rooms,
    int Users,
    int StreamEvents,
    int PushedEvents,
    int PlannedTransactions,
    int EventsInTransactions,
    double GenerationSeconds,
    double SerializationSeconds,
    IReadOnlyDictionary<string, int> PushedByType);

/// <summary>The machine the run shared: a busy machine explains a slow run (1-minute load averages).</summary>
internal sealed record MachineReport(int Cores, string? LoadAverageStart, string? LoadAverageEnd)
{
    public static string? LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return null;
        }
    }
}

internal sealed record MemoryReport(IReadOnlyCollection<string> Pids, long? PeakBytes, double? PeakMib);

internal sealed record OracleReport(
    int Passed,
    int Failed,
    double ElapsedSeconds,
    int ExpectedRooms,
    int ExpectedMemberRows,
    int ExpectedEventsAccepted,
    int ExpectedEventsRejected,
    int EventsDelivered,
    int DuplicatesDelivered,
    int ExpectedStateEventsNotApplied,
    int ExpectedSuspectRooms,
    IReadOnlyList<CheckResult> Failures);

internal sealed record RunReport(
    string Tool,
    string StartedAt,
    string Url,
    string Mode,
    string Faults,
    int ConcurrentCopies,
    WorkloadReport Workload,
    IReadOnlyDictionary<string, int> Injected,
    PhaseReport? Warmup,
    PhaseReport? Main,
    PhaseReport? DuplicateOnly,
    MemoryReport? ServiceMemory,
    IReadOnlyDictionary<string, long>? ServiceStatsBefore,
    IReadOnlyDictionary<string, long>? ServiceStatsAfter,
    OracleReport? Oracle,
    MachineReport? Machine,
    string Verdict)
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>The human-readable table.</summary>
    public string ToTable()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"{"phase",-15} {"txns",7} {"events",9} {"seconds",8} {"events/s",10} {"txns/s",8} {"p50 ms",8} {"p95 ms",8} {"p99 ms",8} {"max ms",8} {"retries",7} {"unacked",7}");
        foreach (var p in new[] { Warmup, Main, DuplicateOnly })
        {
            if (p is null)
            {
                continue;
            }
            sb.AppendLine(inv, $"{p.Name,-15} {p.TransactionsAcknowledged,7} {p.Events,9} {p.ElapsedSeconds,8:0.00} {p.EventsPerSecond,10:0.0} {p.TransactionsPerSecond,8:0.0} "
                               + $"{p.LatencyMs.P50,8:0.00} {p.LatencyMs.P95,8:0.00} {p.LatencyMs.P99,8:0.00} {p.LatencyMs.Max,8:0.00} {p.Retries,7} {p.Unacknowledged,7}");
        }
        foreach (var p in new[] { Warmup, Main, DuplicateOnly })
        {
            if (p is not null)
            {
                var service = p.ServiceCpuSeconds is { } svc ? string.Create(inv, $"service {svc:0.00} s") : "service unknown";
                sb.AppendLine(inv, $"{p.Name} HTTP: {string.Join(", ", p.StatusCounts.Select(kv => $"{kv.Key}={kv.Value}"))}; "
                                   + $"{p.HttpRequests} requests, {p.BytesSent / 1048576.0:0.0} MiB sent; CPU: simulator {p.SimulatorCpuSeconds:0.00} s, {service}");
            }
        }
        if (Machine is not null)
        {
            sb.AppendLine(inv, $"machine: {Machine.Cores} cores, load average {Machine.LoadAverageStart} at the start, {Machine.LoadAverageEnd} at the end");
        }
        sb.Append("service peak memory: ").AppendLine(ServiceMemory?.PeakMib is { } mib
            ? string.Create(inv, $"{mib:0.0} MiB (pid {string.Join(",", ServiceMemory.Pids)})")
            : "unknown (no --pid)");
        return sb.ToString();
    }
}
