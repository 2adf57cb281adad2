using System.Globalization;

namespace AppService.Benchmarks.Live;

/// <summary>
/// The runtime counters the service already publishes on /metrics (the System.Runtime meter, exported by
/// prometheus-net's meter adapter): methods compiled by the JIT and GC collections per generation; and the
/// service's own mismatch counter and the processed-event rows its retention deleted (counted per batch, so a prune call
/// cut off at the end of a round still counts what it deleted). A target without /metrics (the prototype) reports none of them.
/// </summary>
internal sealed record RuntimeCounters(double JitCompiledMethods, double Gen0, double Gen1, double Gen2, double StateMismatches, double PrunedEvents)
{
    public const string JitSeries = "system_runtime_dotnet_jit_compiled_methods";

    public static async Task<RuntimeCounters?> ScrapeAsync(HttpClient http, string? url, CancellationToken ct)
    {
        if (url is null)
        {
            return null;
        }

        string text = await http.GetStringAsync(url, ct);
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            int space = line.LastIndexOf(' ');
            if (space > 0 && double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            {
                series[line[..space]] = value;
            }
        }

        double Get(string name) => series.TryGetValue(name, out double v) ? v : double.NaN;
        return new RuntimeCounters(
            Get(JitSeries),
            Get("system_runtime_dotnet_gc_collections{gc_heap_generation=\"gen0\"}"),
            Get("system_runtime_dotnet_gc_collections{gc_heap_generation=\"gen1\"}"),
            Get("system_runtime_dotnet_gc_collections{gc_heap_generation=\"gen2\"}"),
            series.TryGetValue("appservice_state_mismatches_total", out double m) ? m : 0,
            series.TryGetValue("appservice_retention_rows_deleted_total{table=\"processed_events\"}", out double p) ? p : 0);
    }

    public RuntimeCounters Minus(RuntimeCounters before) => new(
        JitCompiledMethods - before.JitCompiledMethods, Gen0 - before.Gen0, Gen1 - before.Gen1, Gen2 - before.Gen2,
        StateMismatches - before.StateMismatches, PrunedEvents - before.PrunedEvents);
}
