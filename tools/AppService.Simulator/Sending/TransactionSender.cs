using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using AppService.Simulator.Workload;

namespace AppService.Simulator.Sending;

/// <summary>A planned transaction with its body serialised before the timed phase.</summary>
internal sealed class PreparedTransaction
{
    private byte[]? _retryBody;

    public required PlannedTransaction Plan { get; init; }

    public required Uri Url { get; init; }

    public required byte[] Body { get; init; }

    /// <summary>Synapse re-fetches the events of a stored transaction when it retries (facts §2.4): built lazily
    /// on the first retry, which already waits for a backoff.</summary>
    public bool RetryDiffers { get; init; }

    public byte[] RetryBody => !RetryDiffers ? Body
        : _retryBody ??= EventSerializer.SerializeTransaction(Plan.Events, SendVariant.SynapseRetry);

    public static IReadOnlyList<PreparedTransaction> Prepare(IEnumerable<PlannedTransaction> plan, Uri baseUrl, HomeserverMode mode)
    {
        var result = new List<PreparedTransaction>();
        foreach (var t in plan)
        {
            result.Add(new PreparedTransaction
            {
                Plan = t,
                Url = new Uri(baseUrl, "_matrix/app/v1/transactions/" + Uri.EscapeDataString(t.TxnId)),
                Body = EventSerializer.SerializeTransaction(t.Events, SendVariant.First),
                RetryDiffers = mode == HomeserverMode.Synapse,
            });
        }
        return result;
    }
}

internal sealed record SenderOptions
{
    public required string HsToken { get; init; }

    /// <summary>Per request, like Synapse's 60 s / Dendrite's 30 s (shorter by default so runs stay short).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Where every answer is written as it arrives (<see cref="AckLog"/>), or null.</summary>
    public AckLog? AckLog { get; init; }
}

/// <summary>
/// Every answer to a transaction request, one tab-separated line each, flushed as it arrives: unix milliseconds,
/// the HTTP status (or timeout / connection_error), the txnId, and for a 200 the transaction's event ids. What the
/// homeserver was told is acknowledged, with when: a failover test compares it with the database afterwards.
/// </summary>
internal sealed class AckLog(string path) : IDisposable
{
    private readonly StreamWriter _writer = new(path, append: false) { AutoFlush = true };

    public void Write(string status, PlannedTransaction transaction)
    {
        var ids = status == "200" ? string.Join(',', transaction.Events.Select(e => e.EventId)) : "";
        var line = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}\t{status}\t{transaction.TxnId}\t{ids}");
        lock (_writer)
        {
            _writer.WriteLine(line);
        }
    }

    public void Dispose() => _writer.Dispose();
}

/// <summary>What one sending phase did.</summary>
internal sealed class SendPhaseResult
{
    public required string Name { get; init; }

    /// <summary>Indexes (into the phase's transactions) in the order they were acknowledged.</summary>
    public List<int> Acknowledged { get; } = [];

    public int Unacknowledged { get; set; }

    public long EventsAcknowledged { get; set; }

    public long BytesSent { get; set; }

    public TimeSpan Elapsed { get; set; }

    /// <summary>CPU time the simulator itself used during the phase (to show it is not the bottleneck).</summary>
    public TimeSpan SimulatorCpu { get; set; }

    /// <summary>CPU time the service used during the phase, when its pid is known and did not change.</summary>
    public TimeSpan? ServiceCpu { get; set; }

    /// <summary>Per transaction: first attempt to acknowledgement (all copies), retries included.</summary>
    public List<double> TransactionLatenciesMs { get; } = [];

    /// <summary>Per successful HTTP request.</summary>
    public ConcurrentBag<double> RequestLatenciesMs { get; } = [];

    public long HttpRequests;

    public long Retries;

    public long Timeouts;

    public long ConnectionErrors;

    public ConcurrentDictionary<string, long> StatusCounts { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Delivers transactions like a homeserver: one in flight, in order; a non-200, a timeout or a connection
/// error retries the same txnId with exponential backoff (50 ms doubling, capped at 2 s) until the deadline.
/// With concurrent copies, every copy retries on its own and the transaction counts as acknowledged when all
/// copies got 200.
/// </summary>
internal sealed class TransactionSender(HttpClient http, SenderOptions options)
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    public async Task<SendPhaseResult> SendAsync(string phase, IReadOnlyList<PreparedTransaction> transactions, CancellationToken deadline)
    {
        var result = new SendPhaseResult { Name = phase };
        var auth = new AuthenticationHeaderValue("Bearer", options.HsToken);
        var phaseClock = Stopwatch.StartNew();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < transactions.Count; i++)
        {
            var t = transactions[i];
            var start = Stopwatch.GetTimestamp();
            bool ok;
            if (t.Plan.Copies <= 1)
            {
                ok = await DeliverAsync(t, auth, result, deadline);
            }
            else
            {
                var copies = new Task<bool>[t.Plan.Copies];
                for (var c = 0; c < copies.Length; c++)
                {
                    copies[c] = Task.Run(() => DeliverAsync(t, auth, result, deadline), CancellationToken.None);
                }
                ok = (await Task.WhenAll(copies)).All(x => x);
            }
            if (!ok)
            {
                result.Unacknowledged = transactions.Count - i;
                break;
            }
            result.TransactionLatenciesMs.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            result.Acknowledged.Add(i);
            result.EventsAcknowledged += t.Plan.Events.Count;
        }
        result.Elapsed = phaseClock.Elapsed;
        result.SimulatorCpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        return result;
    }

    /// <summary>Sends one copy until it gets 200 or the deadline passes.</summary>
    private async Task<bool> DeliverAsync(PreparedTransaction t, AuthenticationHeaderValue auth, SendPhaseResult result, CancellationToken deadline)
    {
        var backoff = options.InitialBackoff;
        for (var attempt = 0; !deadline.IsCancellationRequested; attempt++)
        {
            if (attempt > 0)
            {
                Interlocked.Increment(ref result.Retries);
                try
                {
                    await Task.Delay(backoff, deadline);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, options.MaxBackoff.Ticks));
            }
            var body = attempt == 0 ? t.Body : t.RetryBody;
            using var request = new HttpRequestMessage(HttpMethod.Put, t.Url);
            request.Headers.Authorization = auth;
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = JsonContentType;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(deadline);
            timeout.CancelAfter(options.RequestTimeout);
            var start = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref result.HttpRequests);
            lock (result)
            {
                result.BytesSent += body.Length;
            }
            try
            {
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
                var status = (int)response.StatusCode;
                result.StatusCounts.AddOrUpdate(status.ToString(System.Globalization.CultureInfo.InvariantCulture), 1, (_, n) => n + 1);
                options.AckLog?.Write(status.ToString(System.Globalization.CultureInfo.InvariantCulture), t.Plan);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    result.RequestLatenciesMs.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    return true;
                }
            }
            catch (OperationCanceledException) when (!deadline.IsCancellationRequested)
            {
                Interlocked.Increment(ref result.Timeouts);
                result.StatusCounts.AddOrUpdate("timeout", 1, (_, n) => n + 1);
                options.AckLog?.Write("timeout", t.Plan);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref result.ConnectionErrors);
                result.StatusCounts.AddOrUpdate("connection_error", 1, (_, n) => n + 1);
                options.AckLog?.Write("connection_error", t.Plan);
            }
        }
        return false;
    }

    public static HttpClient CreateHttpClient(int maxConnections) => new(new SocketsHttpHandler
    {
        UseProxy = false, // 127.0.0.1 only: never through a proxy from the environment
        MaxConnectionsPerServer = maxConnections,
        PooledConnectionLifetime = TimeSpan.FromMinutes(10),
        ConnectTimeout = TimeSpan.FromSeconds(5),
        AutomaticDecompression = DecompressionMethods.None,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };
}
