using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace AppService.Benchmarks.Live;

/// <summary>What one wrk run reported (requests that got a 2xx, latency percentiles over all requests).</summary>
internal sealed record WrkResult(long Requests, long Failed, double Seconds, double P50Ms, double P90Ms, double P99Ms, string Output)
{
    public long Succeeded => Requests - Failed;
}

/// <summary>
/// Runs wrk (Debian's 4.1) with a Lua script of the shared workload and parses its text report. One transaction in
/// flight per connection, as a homeserver sends; the process is killed if it overruns its duration by 15 s.
/// </summary>
internal static partial class Wrk
{
    public static async Task<WrkResult> RunAsync(WrkRun run, CancellationToken ct)
    {
        var start = new ProcessStartInfo("wrk")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[]
                 {
                     $"-t{run.Threads}", $"-c{run.Connections}", $"-d{run.Seconds}s", "--timeout", "10s", "--latency",
                     "-s", run.Script, run.Url, "--", run.RunId,
                 })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["BODY"] = run.Body;
        start.Environment["HS_TOKEN"] = run.Token;
        start.Environment["TOKEN_IN_QUERY"] = "0"; // the header only, for both sides

        using var process = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var overrun = CancellationTokenSource.CreateLinkedTokenSource(ct);
        overrun.CancelAfter(TimeSpan.FromSeconds(run.Seconds + 15));
        try
        {
            await process.WaitForExitAsync(overrun.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"wrk against {run.Url} did not finish in {run.Seconds + 15} s");
        }

        string output = await stdout + await stderr;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"wrk exited with {process.ExitCode}: {output}");
        }

        return Parse(output);
    }

    public static WrkResult Parse(string output)
    {
        var total = TotalLine().Match(output);
        if (!total.Success)
        {
            throw new InvalidOperationException($"no 'N requests in T' line in wrk's output: {output}");
        }

        long requests = long.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture);
        double seconds = Duration(total.Groups[2].Value, total.Groups[3].Value) / 1000.0;
        long failed = NonSuccess().Match(output) is { Success: true } n ? long.Parse(n.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        if (SocketLine().Match(output) is { Success: true } socket)
        {
            foreach (Match e in SocketErrors().Matches(socket.Value))
            {
                failed += long.Parse(e.Groups[1].Value, CultureInfo.InvariantCulture);
            }
        }

        return new WrkResult(requests, Math.Min(failed, requests), seconds, Percentile(output, "50"), Percentile(output, "90"), Percentile(output, "99"), output);
    }

    private static double Percentile(string output, string p)
    {
        var m = Regex.Match(output, $@"^\s+{p}%\s+([0-9.]+)(us|ms|s|m)\s*$", RegexOptions.Multiline, TimeSpan.FromSeconds(1));
        return m.Success ? Duration(m.Groups[1].Value, m.Groups[2].Value) : double.NaN;
    }

    /// <summary>wrk's units (us, ms, s, m) to milliseconds.</summary>
    private static double Duration(string value, string unit) => double.Parse(value, CultureInfo.InvariantCulture) * unit switch
    {
        "us" => 0.001,
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        _ => throw new FormatException($"unknown wrk unit '{unit}'"),
    };

    [GeneratedRegex(@"(\d+) requests in ([0-9.]+)(us|ms|s|m)")]
    private static partial Regex TotalLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex NonSuccess();

    [GeneratedRegex(@"Socket errors:.*$", RegexOptions.Multiline)]
    private static partial Regex SocketLine();

    [GeneratedRegex(@"(?:connect|read|write|timeout) (\d+)")]
    private static partial Regex SocketErrors();
}

internal sealed record WrkRun(string Url, string Token, string Script, string Body, int Threads, int Connections, int Seconds, string RunId);
