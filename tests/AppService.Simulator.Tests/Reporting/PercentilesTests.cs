using AppService.Simulator.Reporting;

namespace AppService.Simulator.Tests.Reporting;

public class PercentilesTests
{
    [Fact]
    public void Percentiles_use_the_nearest_rank_of_the_sorted_values()
    {
        var values = Enumerable.Range(1, 100).Select(i => (double)(101 - i)).ToList();

        var s = Percentiles.Summarize(values);

        Assert.Equal((100, 50.0, 95.0, 99.0, 100.0, 50.5), (s.Count, s.P50, s.P95, s.P99, s.Max, s.Mean));
    }

    [Fact]
    public void A_single_value_is_every_percentile_and_none_gives_zeros()
    {
        Assert.Equal(7, Percentiles.Summarize([7.0]).P99);
        Assert.Equal(0, Percentiles.Summarize([]).P50);
    }
}
