using System.Text.Json;
using System.Text.Json.Serialization;

namespace AppService.Benchmarks;

internal static class BenchJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // a phase that measured nothing says NaN
    };
}

internal sealed record PhaseResult(int Transactions, long Events, double Seconds, double EventsPerSecond, double P50, double P95, double P99, double Max)
{
    public static PhaseResult From(double[] latenciesMs, long events, double seconds)
    {
        var sorted = latenciesMs.Order().ToArray();
        double Percentile(double p) => sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new PhaseResult(sorted.Length, events, Math.Round(seconds, 3), Math.Round(events / seconds, 1),
            Math.Round(Percentile(0.50), 3), Math.Round(Percentile(0.95), 3), Math.Round(Percentile(0.99), 3),
            sorted.Length == 0 ? 0 : Math.Round(sorted[^1], 3));
    }
}

internal sealed record FloorReport(string Kind, int RequestedEvents, long Seed, PhaseResult Main, PhaseResult DuplicateOnly);
