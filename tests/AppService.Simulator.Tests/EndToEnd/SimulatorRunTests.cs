using System.Text.Json;
using AppService.Simulator.Cli;
using AppService.Simulator.Sending;

namespace AppService.Simulator.Tests.EndToEnd;

/// <summary>
/// The whole simulator (generate, send, retry, oracle, report) against an in-process fake of the service with injected
/// bugs: the oracle must catch each. The fake keeps its data in the oracle's own model, so "a correct fake passes"
/// would prove nothing; the oracle meets the real service in AppService.IntegrationTests/Simulator (homeserver mode,
/// inside dotnet test) and in scripts/faults.sh.
/// </summary>
public sealed class SimulatorRunTests : IDisposable
{
    private readonly string _json = Path.Combine(Path.GetTempPath(), $"sim-test-{Guid.NewGuid():N}.json");

    public void Dispose() => File.Delete(_json);

    private async Task<(int ExitCode, string Output, JsonElement Report)> RunAsync(FakeBehaviour behaviour, Func<SimulatorOptions, SimulatorOptions>? configure = null)
    {
        await using var fake = await FakeAppService.StartAsync(behaviour);
        var options = new SimulatorOptions
        {
            Url = fake.Url, HsToken = FakeAppService.HsToken, AdminToken = FakeAppService.AdminToken,
            Events = 1500, Rooms = 8, Users = 60, Seed = 5, Bot = Ev.Bot, TimeoutSeconds = 5, MaxSeconds = 60, JsonPath = _json,
        };
        options = configure?.Invoke(options) ?? options;
        var output = new StringWriter();
        var exit = await new SimulatorRun(options, output).RunAsync(CancellationToken.None);
        var report = JsonDocument.Parse(await File.ReadAllTextAsync(_json)).RootElement.Clone();
        return (exit, output.ToString(), report);
    }

    private static List<string> FailedChecks(JsonElement report) => report.GetProperty("oracle").GetProperty("failures").EnumerateArray()
        .Select(f => f.GetProperty("name").GetString() + ": " + f.GetProperty("detail").GetString()).ToList();

    private static string LastLine(string output) => output.TrimEnd().Split('\n')[^1].Trim();

    [Fact]
    public async Task A_service_that_deduplicates_by_txn_id_only_fails_when_txn_ids_restart()
    {
        var (exit, output, report) = await RunAsync(new FakeBehaviour { DeduplicateByTxnIdOnly = true }, o => o with { Faults = Faults.TxnRestart });

        Assert.Equal(1, exit);
        Assert.Matches(@"^\d+ passed, [1-9]\d* failed$", LastLine(output));
        Assert.Contains(FailedChecks(report), f => f.StartsWith("stats: events_processed grew by", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_service_that_processes_a_duplicate_again_fails()
    {
        var (exit, output, _) = await RunAsync(new FakeBehaviour { ReprocessDuplicates = true }, o => o with { Faults = Faults.Duplicates });

        Assert.Equal(1, exit);
        Assert.Contains("its first delivery", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_service_that_loses_events_fails()
    {
        var (exit, output, _) = await RunAsync(new FakeBehaviour { DropEveryNthEvent = 97 });

        Assert.Equal(1, exit);
        Assert.Contains("not found", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_service_that_keeps_members_after_the_bot_left_fails()
    {
        var (exit, output, _) = await RunAsync(new FakeBehaviour { KeepMembersWhenTheBotLeaves = true });

        Assert.Equal(1, exit);
        Assert.Contains("unexpected row", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_service_that_applies_state_events_that_do_not_follow_what_it_holds_fails()
    {
        // Seed 1 with the default rooms and users: the bot is kicked and re-invited, and a member joins in between
        // (not pushed); that member's next event names the join the service never saw.
        var (exit, output, report) = await RunAsync(new FakeBehaviour { IgnoreReplacesState = true },
            o => o with { Events = 3000, Rooms = 50, Users = 400, Seed = 1 });

        Assert.Equal(1, exit);
        Assert.Contains(FailedChecks(report), f => f.Contains("suspect false, expected true", StringComparison.Ordinal));
        Assert.Contains("@u39:localhost", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_service_that_keeps_the_stale_event_rule_passes_a_workload_that_pushes_events_after_a_gap()
    {
        var (exit, output, report) = await RunAsync(new FakeBehaviour(), o => o with { Events = 3000, Rooms = 50, Users = 400, Seed = 1 });

        Assert.True(exit == 0, output);
        Assert.True(report.GetProperty("oracle").GetProperty("expected_suspect_rooms").GetInt32() > 0, output);
    }

    [Fact]
    public async Task Unavailable_and_slow_answers_are_retried_with_the_same_txn_id_until_acknowledged()
    {
        var (exit, output, report) = await RunAsync(
            new FakeBehaviour { Fail503EveryNthTransaction = 4, SlowEveryNthTransaction = 7 },
            o => o with { TimeoutSeconds = 1 });

        Assert.True(exit == 0, output);
        var main = report.GetProperty("main");
        Assert.True(main.GetProperty("retries").GetInt64() > 0);
        Assert.True(main.GetProperty("status_counts").GetProperty("503").GetInt64() > 0);
        Assert.True(main.GetProperty("status_counts").GetProperty("timeout").GetInt64() > 0);
    }

    [Fact]
    public async Task A_service_that_never_acknowledges_fails_with_unacknowledged_transactions()
    {
        // --max-seconds bounds generation, the wait for the service and the sending together: 2 s could all go to a
        // loaded machine's start-up (the run then never reached the send phase and had no "main" to report).
        var (exit, output, report) = await RunAsync(new FakeBehaviour { AlwaysUnavailable = true }, o => o with { MaxSeconds = 8 });

        Assert.Equal(1, exit);
        Assert.True(report.GetProperty("main").ValueKind == System.Text.Json.JsonValueKind.Object, output);
        Assert.True(report.GetProperty("main").GetProperty("unacknowledged").GetInt32() > 0);
        Assert.Contains("never acknowledged", output, StringComparison.Ordinal);
    }
}
