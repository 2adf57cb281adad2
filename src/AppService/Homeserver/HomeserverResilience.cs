using System.Net;
using AppService.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Retry;

namespace AppService.Homeserver;

/// <summary>
/// The resilience pipeline of <see cref="HomeserverClient"/> (the standard handler, configured): total and
/// per-attempt timeouts, a circuit breaker, and in-call retries with exponential backoff and jitter for idempotent
/// methods only. A 429 is retried after the wait the server asked for, if that wait is short; a longer one ends the
/// call, and the job that made it waits instead (it holds nothing while it waits).
/// </summary>
public static class HomeserverResilience
{
    public static void Configure(HttpStandardResilienceOptions options, HomeserverClientOptions client, TimeProvider time)
    {
        options.AttemptTimeout.Timeout = client.AttemptTimeout;
        options.TotalRequestTimeout.Timeout = client.TotalTimeout;

        options.Retry.MaxRetryAttempts = Math.Max(1, client.MaxRetries);
        options.Retry.BackoffType = DelayBackoffType.Exponential;
        options.Retry.UseJitter = true;
        options.Retry.Delay = client.RetryDelay;
        options.Retry.ShouldRetryAfterHeader = false; // replaced by ServerDelayAsync, which also reads retry_after_ms
        options.Retry.ShouldHandle = args => ShouldRetryAsync(args, client, time);
        options.Retry.DelayGenerator = args => ServerDelayAsync(args.Outcome, time);

        // Our call volume is low (joins, resyncs, sampled checks): the default minimum of 100 calls per window would
        // never open the circuit. Half of at least 5 calls failing opens it for BreakDuration.
        options.CircuitBreaker.MinimumThroughput = 5;
        options.CircuitBreaker.FailureRatio = 0.5;
        options.CircuitBreaker.SamplingDuration = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(30).Ticks, client.AttemptTimeout.Ticks * 2));
        options.CircuitBreaker.BreakDuration = client.BreakDuration;
    }

    /// <summary>
    /// Only GET, HEAD and PUT are retried here: a PUT carries its own txnId, so a repeat is deduplicated by the
    /// homeserver; a POST (join) is not idempotent by contract, so it is left to the job's backoff.
    /// </summary>
    public static bool IsRetriedInCall(HttpMethod? method) =>
        method is not null && (method == HttpMethod.Get || method == HttpMethod.Head || method == HttpMethod.Put);

    private static async ValueTask<bool> ShouldRetryAsync(RetryPredicateArguments<HttpResponseMessage> args, HomeserverClientOptions client, TimeProvider time)
    {
        if (client.MaxRetries == 0
            || !IsRetriedInCall(args.Context.GetRequestMessage()?.Method)
            || args.Context.CancellationToken.IsCancellationRequested
            || !HttpClientResiliencePredicates.IsTransient(args.Outcome))
        {
            return false;
        }

        return await ServerDelayAsync(args.Outcome, time) is not { } wait || wait <= client.MaxInlineRetryAfter;
    }

    /// <summary>The wait a 429 (or 503) answer asks for, from its Retry-After header or retry_after_ms; else null.</summary>
    public static async ValueTask<TimeSpan?> ServerDelayAsync(Outcome<HttpResponseMessage> outcome, TimeProvider time)
    {
        if (outcome.Result is not { StatusCode: HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable } response)
        {
            return null;
        }

        // Buffered, so the body can still be read by the caller when this was the last attempt.
        await response.Content.LoadIntoBufferAsync();
        var (_, _, retryAfterMs) = MatrixApiException.ParseBody(await response.Content.ReadAsStringAsync());
        return MatrixApiException.RetryAfterOf(response.Headers, retryAfterMs, time.GetUtcNow());
    }
}
