using System.Diagnostics;
using System.Globalization;
using System.Net;
using AppService.Simulator.Oracle;
using AppService.Simulator.Sending;
using AppService.Simulator.Workload;

namespace AppService.Simulator.Homeserver;

/// <summary>One homeserver-mode run (one seed, one mode).</summary>
internal sealed record HomeserverRunOptions
{
    public long Seed { get; init; } = 1;

    public HomeserverMode Mode { get; init; } = HomeserverMode.Synapse;

    /// <summary>Generator steps (about one event each; a room's creation is several).</summary>
    public int Steps { get; init; } = 400;

    public int Rooms { get; init; } = 6;

    public int Users { get; init; } = 30;

    public string Bot { get; init; } = "@bot:localhost";

    /// <summary>Pause after each step: the homeserver persists events in real time, while the service's jobs run.</summary>
    public TimeSpan StepPause { get; init; } = TimeSpan.FromMilliseconds(4);

    /// <summary>Chance per step that an operator asks for a resync of a random room the bot is joined to.</summary>
    public double OperatorResyncChance { get; init; } = 0.01;

    /// <summary>The same while the pusher holds a transaction back (an operator who noticed the lag), so that
    /// resyncs meet backlogs.</summary>
    public double OperatorResyncChanceInOutage { get; init; } = 0.04;

    public PushOptions Push { get; init; } = new();

    /// <summary>Longest wait for quiescence (every push acknowledged, no job open), each time.</summary>
    public TimeSpan QuiescenceTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>What a run found: every check, and the counters printed with it.</summary>
internal sealed record HomeserverRunResult(long Seed, HomeserverMode Mode, IReadOnlyList<CheckResult> Checks)
{
    public IEnumerable<CheckResult> Failures => Checks.Where(c => !c.Passed);

    public bool Passed => Checks.All(c => c.Passed);
}

/// <summary>
/// The simulator as the whole homeserver: generates a seeded stream in real time (<see cref="HsGenerator"/>), serves
/// the service's client-server calls from it (<see cref="HsServer"/>, registered by the caller), pushes it with
/// outages (<see cref="HsPusher"/>), asks for operator resyncs at random moments; then waits for quiescence and checks
/// every room (<see cref="HsOracle"/>), resyncs every joined room and checks again.
/// </summary>
internal sealed class HomeserverRun(HsServer server, HttpClient serviceHttp, Uri serviceUrl, string hsToken, string adminToken, TextWriter output)
{
    public async Task<HomeserverRunResult> RunAsync(HomeserverRunOptions o, CancellationToken ct)
    {
        var mode = o.Mode.ToString().ToLowerInvariant();
        var world = new HsWorld(string.Create(CultureInfo.InvariantCulture, $"{o.Seed}{mode[0]}"), o.Bot, o.Mode);
        server.Register(world);
        var admin = new AdminApiClient(serviceHttp, serviceUrl, adminToken);
        var generator = new HsGenerator(world, o.Rooms, o.Users, SeededRandom.For(o.Seed, "homeserver"));
        var pusher = new HsPusher(world, serviceHttp, serviceUrl, hsToken, SeededRandom.For(o.Seed, "push"), o.Push);
        var operatorRng = SeededRandom.For(o.Seed, "operator");
        var clock = Stopwatch.StartNew();
        Say($"seed {o.Seed}, {mode} mode: {o.Steps} steps, {o.Rooms} rooms, {o.Users} users, homeserver at {server.Url}");

        using var stopPushing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var pushing = pusher.RunAsync(stopPushing.Token);
        var checks = new List<CheckResult>();
        var operatorResyncs = new Dictionary<HttpStatusCode, int>();
        try
        {
            for (var step = 0; step < o.Steps && !ct.IsCancellationRequested; step++)
            {
                lock (world.Gate)
                {
                    generator.Step();
                }
                if (operatorRng.Chance(pusher.InOutage ? o.OperatorResyncChanceInOutage : o.OperatorResyncChance) && RandomJoinedRoom(world, operatorRng) is { } roomId)
                {
                    var status = await admin.PostResyncAsync(roomId, ct);
                    operatorResyncs[status] = operatorResyncs.GetValueOrDefault(status) + 1;
                }
                await Task.Delay(o.StepPause, ct);
            }
            var generatedIn = clock.Elapsed;

            checks.Add(await QuiescenceAsync(world, admin, "after the stream", o, ct));
            var oracle = new HsOracle(world, admin);
            checks.AddRange(await oracle.CheckAsync(HsOracle.CheckMode.AtQuiescence, o.Seed, ct));

            // What a deployment eventually does: every joined room resynced (a state reset shows only in a snapshot).
            foreach (var roomId in world.JoinedRooms())
            {
                var status = await admin.PostResyncAsync(roomId, ct);
                checks.Add(new CheckResult($"final resync of {roomId} accepted", status == HttpStatusCode.Accepted,
                    $"seed {o.Seed}: POST /admin/v1/rooms/{{roomId}}/resync answered {(int)status} for a room the bot is joined to"));
            }
            checks.Add(await QuiescenceAsync(world, admin, "after the final resyncs", o, ct));
            checks.AddRange(await oracle.CheckAsync(HsOracle.CheckMode.AfterResync, o.Seed, ct));
            checks.Add(new CheckResult("every homeserver call authenticated", !server.Calls.ContainsKey("unauthorized"),
                $"seed {o.Seed}: {server.Calls.GetValueOrDefault("unauthorized")} calls without the as_token"));

            lock (world.Gate)
            {
                Say($"  stream: {world.Stream.Count} events persisted ({generatedIn.TotalSeconds:0.0} s), {world.Stream.Count(e => e.Pushed)} for the service; "
                    + $"{pusher.Transactions} transactions, {pusher.EventsPushed} events pushed, {pusher.Outages} outages ({pusher.HeldRetries} held retries), "
                    + $"largest backlog {pusher.LargestBacklog}");
                Say($"  injected: {string.Join(", ", world.Injected.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}"))}");
                Say($"  homeserver calls so far: {string.Join(", ", server.Calls.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}"))}; "
                    + $"snapshots ahead of the push {world.SnapshotsAheadOfPush}; operator resyncs "
                    + (operatorResyncs.Count == 0 ? "none" : string.Join(", ", operatorResyncs.Select(kv => $"{(int)kv.Key} x{kv.Value}"))));
            }
        }
        catch (Exception ex) when (ex is AdminApiException or HttpRequestException or OperationCanceledException)
        {
            checks.Add(new CheckResult("run completed", false, $"seed {o.Seed}: {ex.GetType().Name}: {ex.Message}"));
        }
        finally
        {
            await stopPushing.CancelAsync();
            await pushing;
        }

        var result = new HomeserverRunResult(o.Seed, o.Mode, checks);
        foreach (var failure in result.Failures)
        {
            Say($"  FAILED {failure.Name}: {failure.Detail}");
        }
        Say($"seed {o.Seed} {mode}: {(result.Passed ? "pass" : "FAIL")} in {clock.Elapsed.TotalSeconds:0.0} s; {OracleChecker.Summary(checks)}");
        return result;
    }

    /// <summary>Waits until every push is acknowledged and no job is open (a join's event gets pushed in between).</summary>
    private static async Task<CheckResult> QuiescenceAsync(HsWorld world, AdminApiClient admin, string when, HomeserverRunOptions o, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        IReadOnlyList<ActualJob> open = [];
        while (waited.Elapsed < o.QuiescenceTimeout)
        {
            if (world.PendingPushes == 0)
            {
                open = await admin.GetOpenJobsAsync(null, ct);
                if (open.Count == 0 && world.PendingPushes == 0)
                {
                    return new CheckResult($"quiescence {when}", true, $"reached in {waited.Elapsed.TotalSeconds:0.0} s");
                }
            }
            await Task.Delay(50, ct);
        }
        return new CheckResult($"quiescence {when}", false,
            $"seed {o.Seed}: not reached in {o.QuiescenceTimeout.TotalSeconds:0} s: {world.PendingPushes} events not acknowledged, open jobs: "
            + string.Join("; ", open.Take(10).Select(j => $"{j.Kind} {j.RoomId} ({j.Reason}, {j.Attempts} attempts, {j.LastError})")));
    }

    private static string? RandomJoinedRoom(HsWorld world, SeededRandom rng)
    {
        var joined = world.JoinedRooms();
        return joined.Count == 0 ? null : joined[rng.Next(joined.Count)];
    }

    private void Say(string line)
    {
        lock (output)
        {
            output.WriteLine(line);
        }
    }
}
