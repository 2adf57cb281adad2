using AppService.Data;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace AppService.Homeserver;

/// <summary>When a failed job runs again.</summary>
public static class JobBackoff
{
    /// <summary>
    /// Exponential in the attempt number (base, 2x base, 4x base, ...) capped at <paramref name="maxDelay"/>, with
    /// "equal jitter": half the delay is fixed, half is random (<paramref name="jitter"/> in [0, 1)), so replicas that
    /// failed together do not retry together, yet no retry comes sooner than half its step. A longer wait asked for
    /// by the homeserver (429 Retry-After) wins.
    /// </summary>
    public static TimeSpan Delay(int attempt, TimeSpan baseDelay, TimeSpan maxDelay, double jitter, TimeSpan? serverAsked = null)
    {
        double step = baseDelay.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, 40));
        double capped = Math.Min(step, maxDelay.TotalMilliseconds);
        var delay = TimeSpan.FromMilliseconds((capped / 2) + (capped / 2 * Math.Clamp(jitter, 0, 1)));
        return serverAsked is { } asked && asked > delay ? asked : delay;
    }

    /// <summary>
    /// Whether a job that failed this way on its <paramref name="attempt"/>-th run is given up (closed as failed).
    /// Waiting on something outside retries for ever: the homeserver unreachable, 5xx, 429 or slow, the circuit open,
    /// the homeserver not configured, the database away, the lease running out. Anything else fails the same way again
    /// (a permanent 4xx, or a failure of ours on what the homeserver sent) and is given up after
    /// <paramref name="maxAttempts"/>, so no room's content can keep a job retrying for ever.
    /// </summary>
    public static bool GivesUp(Exception exception, int attempt, int maxAttempts) =>
        attempt >= maxAttempts && !IsWaitingOnSomethingElse(exception);

    private static bool IsWaitingOnSomethingElse(Exception exception) => exception switch
    {
        MatrixApiException m => !m.IsPermanent,
        HomeserverNotConfiguredException or BrokenCircuitException or TimeoutRejectedException or OperationCanceledException
            or HttpRequestException => true,
        _ => DatabaseFailures.IsTransient(exception),
    };
}
