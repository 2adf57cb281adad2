namespace AppService.Tests.Scripts;

/// <summary>scripts/run.sh and scripts/stop.sh as a user meets them: run twice by mistake, stopped, failing to start.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class RunAndStopScriptTests : IDisposable
{
    private static readonly Dictionary<string, string> NoPostgres = new() { ["ConnectionStrings__AppService"] = "Host=unused" };

    private readonly ScratchCheckout _checkout = new();

    public void Dispose() => _checkout.Dispose();

    private ScriptRun StartService(Dictionary<string, string>? extra = null)
    {
        var environment = new Dictionary<string, string>(NoPostgres);
        foreach (var (key, value) in extra ?? [])
        {
            environment[key] = value;
        }

        var run = _checkout.Start("run.sh", environment);
        ScratchCheckout.WaitFor(() => run.Output.Contains("Starting on", StringComparison.Ordinal), "run.sh starting the service", run);
        return run;
    }

    /// <summary>Every file of .data/ with its size and time (not read: .NET's own file locks would meet the service's).</summary>
    private Dictionary<string, string> DataFiles() => new DirectoryInfo(Path.Combine(_checkout.Root, ".data")).EnumerateFiles()
        .ToDictionary(f => f.Name, f => $"{f.Length} bytes @ {f.LastWriteTimeUtc:O}");

    [Fact]
    public void A_second_run_sh_says_in_one_line_that_the_service_runs_and_touches_nothing()
    {
        var first = StartService();
        var before = DataFiles();

        var second = _checkout.Run("run.sh", NoPostgres);

        Assert.NotEqual(0, second.ExitCode);
        string line = Assert.Single(second.Lines);
        Assert.Contains("already running", line, StringComparison.Ordinal);
        Assert.Contains($"pid {first.Process.Id}", line, StringComparison.Ordinal);
        Assert.Contains(_checkout.Url, line, StringComparison.Ordinal);
        Assert.Equal(before, DataFiles());
        Assert.False(first.Process.HasExited, "the first service must keep running");
    }

    [Fact]
    public void Stop_sh_stops_the_running_service_whatever_the_pid_file_says()
    {
        var first = StartService();
        File.WriteAllText(_checkout.Data("run.pid"), "999999\n");

        var stop = _checkout.Run("stop.sh", NoPostgres);

        Assert.Equal(0, stop.ExitCode);
        Assert.Contains($"Stopping the service (pid {first.Process.Id})", stop.Output, StringComparison.Ordinal);
        Assert.True(first.Process.WaitForExit(TimeSpan.FromSeconds(30)), $"the service is still running after stop.sh:\n{stop.Output}");
        Assert.False(File.Exists(_checkout.Data("run.pid")));

        // And the next run.sh starts again: nothing stale holds the lock.
        StartService();
    }

    [Fact]
    public void Run_sh_does_not_say_serving_when_the_service_exits_at_start()
    {
        var run = _checkout.Run("run.sh", new Dictionary<string, string>(NoPostgres) { ["FAKE_SERVICE_FAIL"] = "1" });

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("a configuration error", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Serving on", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_sh_says_serving_once_the_service_answers_with_try_it_lines_for_its_actual_url()
    {
        string site = Path.Combine(_checkout.Root, "site");
        var run = StartService(new() { ["FAKE_SERVICE_SERVE"] = site });

        ScratchCheckout.WaitFor(() => run.Output.Contains("Serving on", StringComparison.Ordinal), "run.sh saying it serves", run);

        Assert.True(File.Exists(Path.Combine(site, "health", "live")), "Serving on was printed before the service could answer");
        Assert.Contains($"Serving on {_checkout.Url} ", run.Output, StringComparison.Ordinal);
        Assert.Contains($"URL={_checkout.Url}\n", run.Output, StringComparison.Ordinal);
        Assert.Contains("HS='Authorization: Bearer CHANGE_ME_hs_token_placeholder'", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_sh_refuses_an_address_another_program_listens_on_in_one_line()
    {
        using var other = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, _checkout.Port);
        other.Start();

        var run = _checkout.Run("run.sh", NoPostgres);

        Assert.NotEqual(0, run.ExitCode);
        string line = Assert.Single(run.Lines);
        Assert.Contains($"127.0.0.1:{_checkout.Port}", line, StringComparison.Ordinal);
        Assert.Contains("APPSERVICE_URLS", line, StringComparison.Ordinal);
    }
}
