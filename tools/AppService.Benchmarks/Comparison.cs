using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AppService.Benchmarks;

/// <summary>
/// Puts the simulator's end-to-end report next to the floor's and checks the targets of the benchmark: service at
/// least 70% of the floor's events/s, p99 at most 1.5x the floor's, duplicate-only at least 60% of the floor's rate,
/// peak memory under 250 MB.
/// </summary>
internal static class Comparison
{
    public static int Run(string servicePath, string floorPath, string? markdownPath, string? jsonPath, TextWriter output)
    {
        using var service = JsonDocument.Parse(File.ReadAllText(servicePath));
        using var floor = JsonDocument.Parse(File.ReadAllText(floorPath));
        var s = service.RootElement;
        var f = floor.RootElement;

        double sEps = s.GetProperty("main").GetProperty("events_per_second").GetDouble();
        double sP50 = s.GetProperty("main").GetProperty("latency_ms").GetProperty("p50").GetDouble();
        double sP99 = s.GetProperty("main").GetProperty("latency_ms").GetProperty("p99").GetDouble();
        double sDup = s.GetProperty("duplicate_only").GetProperty("events_per_second").GetDouble();
        double sDupP99 = s.GetProperty("duplicate_only").GetProperty("latency_ms").GetProperty("p99").GetDouble();
        double? memory = s.TryGetProperty("service_memory", out var m) && m.ValueKind == JsonValueKind.Object
            && m.TryGetProperty("peak_mib", out var mib) && mib.ValueKind == JsonValueKind.Number ? mib.GetDouble() : null;
        string verdict = s.GetProperty("verdict").GetString() ?? "?";

        double fEps = f.GetProperty("main").GetProperty("events_per_second").GetDouble();
        double fP50 = f.GetProperty("main").GetProperty("p50").GetDouble();
        double fP99 = f.GetProperty("main").GetProperty("p99").GetDouble();
        double fDup = f.GetProperty("duplicate_only").GetProperty("events_per_second").GetDouble();
        double fDupP99 = f.GetProperty("duplicate_only").GetProperty("p99").GetDouble();

        var rows = new List<Row>
        {
            new("events/s, 100 events per transaction", sEps, fEps, sEps / fEps, ">= 0.70 of floor", sEps / fEps >= 0.70),
            new("transaction p50 (ms)", sP50, fP50, sP50 / fP50, "(reported)", null),
            new("transaction p99 (ms)", sP99, fP99, sP99 / fP99, "<= 1.5x floor", sP99 / fP99 <= 1.5),
            new("duplicate-only events/s", sDup, fDup, sDup / fDup, ">= 0.60 of floor", sDup / fDup >= 0.60),
            new("duplicate-only p99 (ms)", sDupP99, fDupP99, sDupP99 / fDupP99, "(reported)", null),
            new("service peak memory (MiB)", memory ?? double.NaN, double.NaN, double.NaN, "< 250 MB", memory is { } mm ? mm * 1.048576 < 250 : null),
        };

        var md = new StringBuilder();
        md.AppendLine("| measure | service | floor | service/floor | target | met |");
        md.AppendLine("|---|---:|---:|---:|---|---|");
        foreach (var r in rows)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Name} | {Fmt(r.Service)} | {Fmt(r.Floor)} | {Fmt(r.Ratio, "0.00")} | {r.Target} | {(r.Met is null ? "" : r.Met.Value ? "yes" : "NO")} |");
        }

        md.AppendLine(CultureInfo.InvariantCulture, $"\nOracle verdict of the end-to-end run: {verdict}.");
        output.Write(md.ToString());
        if (markdownPath is not null)
        {
            File.WriteAllText(markdownPath, md.ToString());
        }

        if (jsonPath is not null)
        {
            var json = rows.Select(r => new { r.Name, Service = Finite(r.Service), Floor = Finite(r.Floor), Ratio = Finite(r.Ratio), r.Target, r.Met });
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(new { rows = json, verdict }, BenchJson.Options));
        }

        bool allMet = rows.All(r => r.Met is null or true);
        output.WriteLine(allMet ? "All targets met." : "Some targets NOT met (see the table).");
        return verdict == "pass" ? 0 : 1;
    }

    private static double? Finite(double value) => double.IsFinite(value) ? Math.Round(value, 3) : null;

    private static string Fmt(double value, string format = "0.0") =>
        double.IsNaN(value) ? "–" : value.ToString(format, CultureInfo.InvariantCulture);

    private sealed record Row(string Name, double Service, double Floor, double Ratio, string Target, bool? Met);
}
