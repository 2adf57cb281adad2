using System.Net.Http.Headers;

namespace ChangeFeedConsumer;

/// <summary>
/// <c>dotnet run --project samples/ChangeFeedConsumer -- http://127.0.0.1:9000 .data/feed.cursor</c>, with the admin token
/// in ADMIN_TOKEN (scripts/run.sh keeps it in .data/admin-token). Stops on Ctrl+C; run it again to resume.
/// </summary>
internal static class ConsumerProgram
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length != 2 || Environment.GetEnvironmentVariable("ADMIN_TOKEN") is not { Length: > 0 } token)
        {
            await Console.Error.WriteLineAsync("usage: ADMIN_TOKEN=... ChangeFeedConsumer <service base url> <cursor file>");
            return 64;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        using var http = new HttpClient { BaseAddress = new Uri(args[0].TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            var stop = await new FeedConsumer(http, args[1], Console.Out).RunAsync(maxChanges: null, timeoutMs: 30_000, stopWhenIdle: false, cancel.Token);
            return stop == FeedConsumer.Outcome.Gone ? 2 : 0;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return 0;
        }
    }
}
