using System.Net.Http.Headers;
using System.Text.Json;
using AppService.Matrix;

namespace AppService.Homeserver;

/// <summary>
/// A client-server API call that did not succeed: the HTTP status, the Matrix <c>errcode</c>/<c>error</c> of the body
/// (<c>M_UNKNOWN</c> when the body is not a Matrix error, e.g. a proxy's HTML page), and how long the server asked us
/// to wait (429 <c>Retry-After</c> or <c>retry_after_ms</c>).
/// </summary>
public sealed class MatrixApiException(int statusCode, string errCode, string error, TimeSpan? retryAfter)
    : Exception($"{statusCode} {errCode}: {error}")
{
    public int StatusCode { get; } = statusCode;

    public string ErrCode { get; } = errCode;

    public string Error { get; } = error;

    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>
    /// A refusal that will not change by itself soon (403 M_FORBIDDEN, 404, 401 M_UNKNOWN_TOKEN, ...): worth only
    /// a bounded number of retries. Rate limits, timeouts, 5xx and malformed success bodies are transient.
    /// </summary>
    public bool IsPermanent => StatusCode is >= 400 and < 500 and not (408 or 429) && ErrCode != MatrixError.Codes.LimitExceeded;

    /// <summary>Builds the exception from a failed response, reading the body once (it is small).</summary>
    public static async Task<MatrixApiException> FromResponseAsync(HttpResponseMessage response, DateTimeOffset now, CancellationToken cancellationToken)
    {
        string body = await response.Content.ReadAsStringAsync(cancellationToken);
        return FromResponse((int)response.StatusCode, body, response.Headers, now);
    }

    public static MatrixApiException FromResponse(int statusCode, string? body, HttpResponseHeaders? headers, DateTimeOffset now)
    {
        var (errCode, error, retryAfterMs) = ParseBody(body);
        var retryAfter = RetryAfterOf(headers, retryAfterMs, now);
        return new MatrixApiException(statusCode, errCode ?? MatrixError.Codes.Unknown, error ?? $"HTTP {statusCode}", retryAfter);
    }

    /// <summary>
    /// The wait a server asked for: the <c>Retry-After</c> header (seconds or an HTTP date; preferred since spec
    /// v1.10) or else the body's deprecated <c>retry_after_ms</c>. Null when neither is there or usable.
    /// </summary>
    public static TimeSpan? RetryAfterOf(HttpResponseHeaders? headers, long? retryAfterMs, DateTimeOffset now)
    {
        if (headers?.RetryAfter is { } header)
        {
            if (header.Delta is { } delta && delta >= TimeSpan.Zero)
            {
                return delta;
            }

            if (header.Date is { } date)
            {
                var wait = date - now;
                return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
            }
        }

        return retryAfterMs is >= 0 ? TimeSpan.FromMilliseconds(retryAfterMs.Value) : null;
    }

    /// <summary>The body's errcode, error and retry_after_ms, when it is a JSON object; nulls otherwise.</summary>
    public static (string? ErrCode, string? Error, long? RetryAfterMs) ParseBody(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return (null, null, null);
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, null, null);
            }

            string? errCode = TransactionParser.OptionalString(root, "errcode");
            string? error = TransactionParser.OptionalString(root, "error");
            long? retryAfterMs = root.TryGetProperty("retry_after_ms", out var ms) && ms.ValueKind == JsonValueKind.Number && ms.TryGetInt64(out long value)
                ? value
                : null;
            return (errCode, Truncate(error), retryAfterMs);
        }
        catch (JsonException)
        {
            return (null, null, null);
        }
    }

    private static string? Truncate(string? value) =>
        value is { Length: > 200 } ? value[..200] + "…" : value;
}

/// <summary>AppService:HomeserverUrl is not set: homeserver work waits until it is.</summary>
public sealed class HomeserverNotConfiguredException()
    : Exception("AppService:HomeserverUrl is not set; homeserver jobs wait until it is configured.");
