using System.Diagnostics;
using AppService.Simulator.Cli;
using AppService.Simulator.Oracle;
using AppService.Simulator.Sending;

namespace AppService.Simulator.Homeserver;

/// <summary>
/// <c>--homeserver-port N</c>: the simulator is the service's homeserver (its <c>AppService:HomeserverUrl</c> must be
/// <c>http://127.0.0.1:N</c>) for <c>--runs</c> seeds in a row, from <c>--seed</c> on. Every seed's rooms stay served
/// until the process ends, so the service's drift checks of earlier seeds keep getting answers.
/// </summary>
internal static class HomeserverCommand
{
    public static async Task<int> RunAsync(SimulatorOptions o, TextWriter output, CancellationToken interrupted)
    {
        await using var server = new HsServer(o.AsToken);
        await server.StartAsync(o.HomeserverPort!.Value);
        using var http = TransactionSender.CreateHttpClient(16);
        server.PingBackTo(http, o.Url, o.HsToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(interrupted);
        deadline.CancelAfter(TimeSpan.FromSeconds(o.MaxSeconds));
        var admin = new AdminApiClient(http, o.Url, o.AdminToken);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await admin.GetStatsAsync(deadline.Token);
                break;
            }
            catch (Exception ex) when (ex is AdminApiException or HttpRequestException && waited.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(200, deadline.Token);
            }
        }

        var run = new HomeserverRun(server, http, o.Url, o.HsToken, o.AdminToken, output);
        var results = new List<HomeserverRunResult>();
        for (var i = 0; i < o.Runs && !deadline.IsCancellationRequested; i++)
        {
            results.Add(await run.RunAsync(new HomeserverRunOptions
            {
                Seed = o.Seed + i, Mode = o.Mode, Steps = o.Steps, Rooms = o.RoomsGiven ? o.Rooms : 6, Users = o.UsersGiven ? o.Users : 30,
                Bot = o.Bot,
            }, deadline.Token));
        }
        output.WriteLine();
        output.WriteLine($"seeds {o.Seed}..{o.Seed + o.Runs - 1} ({o.Mode.ToString().ToLowerInvariant()}): "
            + string.Join(", ", results.Select(r => $"{r.Seed} {(r.Passed ? "pass" : "FAIL")}")));
        var checks = results.SelectMany(r => r.Checks).ToList();
        output.WriteLine(OracleChecker.Summary(checks));
        return results.Count == o.Runs && results.All(r => r.Passed) ? 0 : 1;
    }
}
