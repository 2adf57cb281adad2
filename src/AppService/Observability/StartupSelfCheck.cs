using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using AppService.Data;
using AppService.Hosting;
using AppService.Registrations;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AppService.Observability;

/// <summary>
/// Once the server listens: restores the last-transaction time from the ledger (for the staleness metric) and, when
/// <c>AppService:HomeserverUrl</c> is set, pings the homeserver (<c>POST /_matrix/client/v1/appservice/{id}/ping</c>,
/// spec v1.7). The homeserver then pings us back on <c>/_matrix/app/v1/ping</c> with the same transaction_id before it
/// answers, so one call checks both directions. Exactly one line is logged about it. Start never fails because of it.
/// </summary>
internal sealed class StartupSelfCheck(
    IOptions<AppServiceOptions> options,
    Registration registration,
    PingRecorder pings,
    IHttpClientFactory httpClients,
    IHostApplicationLifetime lifetime,
    IServiceScopeFactory scopes,
    IOptions<SelfCheckOptions> selfCheck,
    ILogger<StartupSelfCheck> logger) : BackgroundService
{
    public const string HttpClientName = "homeserver-self-check";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await WhenStartedAsync(stoppingToken);
            await RestoreLastTransactionAsync(stoppingToken);
            if (options.Value.HomeserverUrl is not { } homeserver)
            {
                Log.SelfCheckSkipped(logger);
                return;
            }

            await PingAsync(homeserver, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down before the check finished: nothing to report.
        }
    }

    private Task WhenStartedAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        return started.Task.WaitAsync(stoppingToken);
    }

    private async Task RestoreLastTransactionAsync(CancellationToken ct)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            var last = await db.Ledger.MaxAsync(t => (DateTimeOffset?)t.LastProcessedAt, ct);
            if (last is { } at)
            {
                AppServiceMetrics.RestoreLastTransaction(at);
                Log.LastTransactionRestored(logger, at);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            AppServiceMetrics.CountDatabaseError(ex, "startup");
            Log.LastTransactionNotRestored(logger, ex.GetBaseException().Message);
        }
    }

    private async Task PingAsync(Uri homeserver, CancellationToken ct)
    {
        string homeserverUrl = homeserver.GetLeftPart(UriPartial.Path).TrimEnd('/');
        var pingUrl = new Uri($"{homeserverUrl}/_matrix/client/v1/appservice/{Uri.EscapeDataString(registration.Id)}/ping");
        string transactionId = "self-check-" + Guid.NewGuid().ToString("N");
        var client = httpClients.CreateClient(HttpClientName);
        var retryDelays = selfCheck.Value.RetryDelays;

        for (int attempt = 1; ; attempt++)
        {
            PingAnswer answer;
            try
            {
                answer = await SendAsync(client, pingUrl, transactionId, ct);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                answer = new PingAnswer(null, null, null, ex is TaskCanceledException ? "timed out" : ex.GetBaseException().Message);
            }

            var outcome = Classify(answer, pings.Saw(transactionId));
            if (outcome is not (PingOutcome.Ok or PingOutcome.Unsupported))
            {
                AppServiceMetrics.HomeserverErrors.WithLabels("ping").Inc();
            }

            if (outcome == PingOutcome.Unreachable && attempt <= retryDelays.Count)
            {
                Log.SelfCheckRetrying(logger, attempt, answer.Describe(), retryDelays[attempt - 1].TotalSeconds);
                await Task.Delay(retryDelays[attempt - 1], ct);
                continue;
            }

            Report(outcome, answer, homeserverUrl, transactionId, attempt);
            return;
        }
    }

    private async Task<PingAnswer> SendAsync(HttpClient client, Uri pingUrl, string transactionId, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, pingUrl)
        {
            Content = JsonContent.Create(new Dictionary<string, string> { ["transaction_id"] = transactionId }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", registration.AsToken);
        using var response = await client.SendAsync(request, ct);
        string body = await response.Content.ReadAsStringAsync(ct);

        string? errCode = null;
        long? durationMs = null;
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind == JsonValueKind.Object)
            {
                if (json.RootElement.TryGetProperty("errcode", out var e) && e.ValueKind == JsonValueKind.String)
                {
                    errCode = e.GetString();
                }

                if (json.RootElement.TryGetProperty("duration_ms", out var d) && d.TryGetInt64(out long ms))
                {
                    durationMs = ms;
                }
            }
        }
        catch (JsonException)
        {
            // Not a Matrix answer (a proxy's error page, say): the status alone decides.
        }

        return new PingAnswer((int)response.StatusCode, errCode, durationMs, null);
    }

    private void Report(PingOutcome outcome, PingAnswer answer, string homeserverUrl, string transactionId, int attempts)
    {
        int status = answer.Status ?? 0;
        // One line per outcome, each with its own event id (docs/operations.md lists them).
        Action log = outcome switch
        {
            PingOutcome.Ok => () => Log.SelfCheckOk(logger, homeserverUrl, registration.Url, transactionId, answer.DurationMs),
            PingOutcome.AnsweredElsewhere => () => Log.SelfCheckPingElsewhere(logger, homeserverUrl, registration.Url, transactionId),
            PingOutcome.HomeserverCannotReachUs => () => Log.SelfCheckHomeserverCannotReachUs(logger, homeserverUrl, registration.Url, status, answer.ErrCode),
            PingOutcome.Refused => () => Log.SelfCheckRefused(logger, homeserverUrl, registration.Id, status, answer.ErrCode),
            PingOutcome.Unsupported => () => Log.SelfCheckPingUnsupported(logger, homeserverUrl, registration.Url, status),
            PingOutcome.Unreachable => () => Log.SelfCheckUnreachable(logger, homeserverUrl, attempts, answer.Describe()),
            _ => () => Log.SelfCheckUnexpected(logger, homeserverUrl, status, answer.ErrCode),
        };
        log();
    }

    /// <summary>What the homeserver said: a status (null if no HTTP answer), its errcode and duration_ms, or the network error.</summary>
    internal sealed record PingAnswer(int? Status, string? ErrCode, long? DurationMs, string? Error)
    {
        public string Describe() => Error ?? $"HTTP {Status} {ErrCode}".TrimEnd();
    }

    internal enum PingOutcome
    {
        Ok,
        AnsweredElsewhere,
        HomeserverCannotReachUs,
        Refused,
        Unsupported,
        Unreachable,
        Unexpected,
    }

    /// <summary>
    /// Reads an answer of <c>POST /_matrix/client/v1/appservice/{id}/ping</c> (spec: 200 duration_ms; 400 M_URL_NOT_SET;
    /// 403 M_FORBIDDEN; 502 M_BAD_STATUS or M_CONNECTION_FAILED; 504 M_CONNECTION_TIMEOUT).
    /// </summary>
    internal static PingOutcome Classify(PingAnswer answer, bool pingReachedUs) => answer switch
    {
        { Status: null } => PingOutcome.Unreachable,
        { Status: 200 } => pingReachedUs ? PingOutcome.Ok : PingOutcome.AnsweredElsewhere,
        { ErrCode: "M_URL_NOT_SET" or "M_BAD_STATUS" or "M_CONNECTION_FAILED" or "M_CONNECTION_TIMEOUT" } => PingOutcome.HomeserverCannotReachUs,
        { Status: 401 or 403 } => PingOutcome.Refused,
        { Status: 404 or 405 } => PingOutcome.Unsupported,
        // A 5xx without a Matrix errcode comes from a proxy in front of a homeserver that is down or starting.
        { Status: 502 or 503 or 504, ErrCode: null } => PingOutcome.Unreachable,
        _ => PingOutcome.Unexpected,
    };
}

/// <summary>How the startup self-check waits between attempts while the homeserver cannot be reached at all (it may still be starting).</summary>
internal sealed class SelfCheckOptions
{
    public IReadOnlyList<TimeSpan> RetryDelays { get; set; } =
        [TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(16), TimeSpan.FromSeconds(30)];
}
