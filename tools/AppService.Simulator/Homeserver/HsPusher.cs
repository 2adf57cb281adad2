using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using AppService.Simulator.Sending;
using AppService.Simulator.Workload;

namespace AppService.Simulator.Homeserver;

/// <summary>Push scheduling of a homeserver-mode run.</summary>
internal sealed record PushOptions
{
    /// <summary>Share of transactions that meet an outage: held back, retried with growing delays, then sent.</summary>
    public double OutageChance { get; init; } = 0.2;

    /// <summary>First retry delay of an outage; each next one doubles (Synapse: 2 s, 4 s, ... after an outage, scaled down).</summary>
    public TimeSpan RetryBase { get; init; } = TimeSpan.FromMilliseconds(25);

    /// <summary>Failed attempts of one outage: 2 up to this (exclusive).</summary>
    public int MaxOutageAttempts { get; init; } = 7;

    /// <summary>Chance of an outage for the transaction after one that carried the bot's join: the first-join
    /// resync then fetches state while the room's next events are held back (a slow homeserver as the bot joins a
    /// busy room).</summary>
    public double OutageAfterBotJoinChance { get; init; } = 0.6;

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Pushes the homeserver's queue to the application service like a real homeserver: one transaction at a time, cut
/// from the head of the queue when the previous one is acknowledged (Synapse: up to 100 events, increasing txnIds;
/// Dendrite: up to 50, nanosecond txnIds). Now and then the service is "down" for a transaction: the homeserver holds
/// it back for a few retries with doubling delays (while events keep being persisted, so a backlog forms and the
/// service's resyncs and drift checks fetch state ahead of it), then sends it as a retry (Synapse re-fetches the
/// events: no <c>prev_content</c>). A non-200 answer is retried with the same txnId.
/// </summary>
internal sealed class HsPusher(HsWorld world, HttpClient http, Uri serviceUrl, string hsToken, SeededRandom rng, PushOptions options)
{
    // Shared by every run of the process, and started from the clock, so that runs against one service (one txnId
    // space per application service) never reuse a txnId.
    private static long s_lastSynapseTxn = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
    private static long s_lastDendriteTxn;

    public int Transactions { get; private set; }

    public int EventsPushed { get; private set; }

    public int Outages { get; private set; }

    public int HeldRetries { get; private set; }

    public int FailedAttempts { get; private set; }

    public int LargestBacklog { get; private set; }

    /// <summary>True while a transaction is held back by an outage.</summary>
    public bool InOutage { get; private set; }

    private bool _afterBotJoin;

    /// <summary>Pushes until <paramref name="stop"/> (the rest of the queue is then left unsent).</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var max = world.Mode == HomeserverMode.Synapse ? TransactionPlanner.SynapseMaxEvents : TransactionPlanner.DendriteMaxEvents;
        while (!stop.IsCancellationRequested)
        {
            LargestBacklog = Math.Max(LargestBacklog, world.PendingPushes);
            var events = world.TakeForPush(max);
            if (events.Count == 0)
            {
                await Delay(TimeSpan.FromMilliseconds(5), stop);
                continue;
            }
            try
            {
                var txnId = NextTxnId();
                var variant = SendVariant.First;
                var outage = rng.Chance(_afterBotJoin ? Math.Max(options.OutageChance, options.OutageAfterBotJoinChance) : options.OutageChance);
                _afterBotJoin = events.Any(e => e.StateKey == world.BotUserId && HsRoom.MembershipOf(e) == "join");
                if (outage)
                {
                    Outages++;
                    InOutage = true;
                    var attempts = rng.Next(2, options.MaxOutageAttempts);
                    for (var i = 0; i < attempts && !stop.IsCancellationRequested; i++)
                    {
                        HeldRetries++;
                        await Delay(options.RetryBase * (1 << i), stop);
                    }
                    // Synapse re-reads the events of a transaction it retries: no prev_content any more.
                    variant = world.Mode == HomeserverMode.Synapse ? SendVariant.SynapseRetry : SendVariant.First;
                    InOutage = false;
                }
                byte[] body;
                lock (world.Gate)
                {
                    body = EventSerializer.SerializeTransaction(events, variant);
                }
                await SendUntilAcknowledgedAsync(txnId, body, stop);
                Transactions++;
                EventsPushed += events.Count;
            }
            finally
            {
                world.Acknowledged(events);
            }
        }
    }

    private async Task SendUntilAcknowledgedAsync(string txnId, byte[] body, CancellationToken stop)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        var uri = new Uri(serviceUrl, "_matrix/app/v1/transactions/" + Uri.EscapeDataString(txnId));
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Put, uri) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", hsToken);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
                timeout.CancelAfter(options.RequestTimeout);
                using var response = await http.SendAsync(request, timeout.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !stop.IsCancellationRequested)
            {
            }
            FailedAttempts++;
            await Delay(delay, stop);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
        }
    }

    private string NextTxnId()
    {
        if (world.Mode == HomeserverMode.Synapse)
        {
            // Increasing, with gaps.
            return Interlocked.Add(ref s_lastSynapseTxn, 1 + rng.Next(3)).ToString(CultureInfo.InvariantCulture);
        }
        var now = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100; // nanoseconds, as Dendrite
        long last, next;
        do
        {
            last = Interlocked.Read(ref s_lastDendriteTxn);
            next = Math.Max(now, last + 1);
        }
        while (Interlocked.CompareExchange(ref s_lastDendriteTxn, next, last) != last);
        return next.ToString(CultureInfo.InvariantCulture);
    }

    private static async Task Delay(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(delay, stop);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
