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
}
