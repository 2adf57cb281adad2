namespace AppService.Simulator.Reporting;

internal sealed record LatencySummary(int Count, double P50, double P95, double P99, double Max, double Mean);

/// <summary>Percentiles by the nearest-rank method on the sorted list (no interpolation, no sketch).</summary>
internal static class Percentiles
{
    public static double NearestRank(IReadOnlyList<double> sorted, double percentile)
    {
        if (sorted.Count == 0)
        {
            return 0;
        }
        var rank = (int)Math.Ceiling(percentile / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }

    public static LatencySummary Summarize(IEnumerable<double> values)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return sorted.Length == 0
            ? new LatencySummary(0, 0, 0, 0, 0, 0)
            : new LatencySummary(sorted.Length, NearestRank(sorted, 50), NearestRank(sorted, 95), NearestRank(sorted, 99), sorted[^1], sorted.Average());
    }
}
