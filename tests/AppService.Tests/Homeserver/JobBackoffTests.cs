using AppService.Homeserver;

namespace AppService.Tests.Homeserver;

public sealed class JobBackoffTests
{
    private static readonly TimeSpan Base = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Cap = TimeSpan.FromMinutes(5);

    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 4)]
    [InlineData(3, 8)]
    [InlineData(8, 256)]
    [InlineData(9, 300)]
    [InlineData(1000, 300)]
    public void The_delay_doubles_per_attempt_up_to_the_cap(int attempt, double stepSeconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(stepSeconds / 2), JobBackoff.Delay(attempt, Base, Cap, jitter: 0));
        Assert.Equal(TimeSpan.FromSeconds(stepSeconds), JobBackoff.Delay(attempt, Base, Cap, jitter: 1));
    }

    [Fact]
    public void Jitter_spreads_the_delay_over_the_upper_half_of_the_step()
    {
        var delays = Enumerable.Range(0, 100).Select(i => JobBackoff.Delay(3, Base, Cap, i / 100.0)).ToList();

        Assert.All(delays, d => Assert.InRange(d, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)));
        Assert.Equal(100, delays.Distinct().Count());
    }

    [Fact]
    public void A_longer_wait_asked_by_the_homeserver_wins()
    {
        Assert.Equal(TimeSpan.FromSeconds(90), JobBackoff.Delay(1, Base, Cap, 0.5, serverAsked: TimeSpan.FromSeconds(90)));
        Assert.Equal(TimeSpan.FromSeconds(1.5), JobBackoff.Delay(1, Base, Cap, 0.5, serverAsked: TimeSpan.FromMilliseconds(10)));
    }
}
