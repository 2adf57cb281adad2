using AppService.Homeserver;
using Npgsql;
using Polly.CircuitBreaker;

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

    public static TheoryData<string, Exception> FailuresOfOursOnTheirContent => new()
    {
        { "a bug in our code on what the homeserver sent", new InvalidOperationException("unexpected snapshot shape") },
        { "PostgreSQL refusing a value (22021)", new PostgresException("invalid byte sequence", "ERROR", "ERROR", "22021") },
        { "a permanent 4xx", new MatrixApiException(403, "M_FORBIDDEN", "not invited", null) },
    };

    public static TheoryData<string, Exception> WaitingOnSomethingElse => new()
    {
        { "homeserver 502", new MatrixApiException(502, "M_UNKNOWN", "bad gateway", null) },
        { "rate limited", new MatrixApiException(429, "M_LIMIT_EXCEEDED", "slow down", TimeSpan.FromSeconds(3)) },
        { "homeserver unreachable", new HttpRequestException("connection refused") },
        { "circuit open", new BrokenCircuitException() },
        { "lease ran out", new OperationCanceledException() },
        { "homeserver not configured", new HomeserverNotConfiguredException() },
        { "database restarting (57P01)", new PostgresException("terminating connection", "FATAL", "FATAL", "57P01") },
    };

    [Theory]
    [MemberData(nameof(FailuresOfOursOnTheirContent))]
    public void A_job_failing_the_same_way_each_time_is_given_up_after_max_attempts(string because, Exception failure)
    {
        Assert.False(JobBackoff.GivesUp(failure, attempt: 9, maxAttempts: 10), because);
        Assert.True(JobBackoff.GivesUp(failure, attempt: 10, maxAttempts: 10), because);
    }

    [Theory]
    [MemberData(nameof(WaitingOnSomethingElse))]
    public void A_job_waiting_on_the_homeserver_or_the_database_retries_for_ever(string because, Exception failure)
    {
        Assert.False(JobBackoff.GivesUp(failure, attempt: 1_000, maxAttempts: 10), because);
    }
}
