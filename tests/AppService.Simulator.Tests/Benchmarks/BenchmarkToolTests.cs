using System.Text.Json;
using AppService.Benchmarks;
using AppService.Benchmarks.Live;

namespace AppService.Simulator.Tests.Benchmarks;

/// <summary>How the benchmark tool reads wrk and turns phase results into the goal table of issue 10.</summary>
public sealed class BenchmarkToolTests : IDisposable
{
    private const string WrkOutput = """
        Running 10s test @ http://127.0.0.1:9200
          1 threads and 1 connections
          Thread Stats   Avg      Stdev     Max   +/- Stdev
            Latency     3.45ms    1.20ms  20.00ms   80.00%
            Req/Sec   290.00     20.00   330.00     70.00%
          Latency Distribution
             50%  850.00us
             75%    3.60ms
             90%    4.10ms
             99%    1.20s
          2900 requests in 10.00s, 200.00KB read
          Socket errors: connect 0, read 1, write 0, timeout 2
          Non-2xx or 3xx responses: 5
        Requests/sec:    290.00
        Transfer/sec:     20.00KB
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("bench-tool-test").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Wrk_output_is_read_as_requests_failures_and_percentiles_in_milliseconds()
    {
        var result = Wrk.Parse(WrkOutput);

        Assert.Equal((2900L, 8L, 2892L, 10.0), (result.Requests, result.Failed, result.Succeeded, result.Seconds));
        Assert.Equal((0.85, 4.1, 1200.0), (result.P50Ms, result.P90Ms, result.P99Ms));
    }

    [Fact]
    public void The_goal_table_gives_each_goal_its_ratio_and_verdict()
    {
        Write("new", Summary("service", eventsPerSecond: 27_000, p99: 11, cpu: 1.5), Summary("prototype", eventsPerSecond: 30_000, p99: 12, cpu: 1.4));
        Write("mismatch", Summary("normal", eventsPerSecond: 20_000, p99: 10, cpu: 2.0), Summary("mismatch", eventsPerSecond: 19_000, p99: 10, cpu: 2.3));
        var output = new StringWriter();

        GoalReport.Run(_dir, null, null, output);

        string[] lines = output.ToString().Split('\n');
        Assert.Contains("| 1 | new events/s (body-chain, 1 in flight) | 27,000 | 30,000 | 0.90 | >= 1.00x prototype | **no** |", lines);
        Assert.Contains("| 1 | p99 per transaction (ms) | 11.00 | 12.00 | 0.92 | <= prototype's | yes |", lines);
        Assert.Contains("| 1 | service CPU per 100-event transaction (ms) | 1.50 | 1.40 | 1.07 | <= 1.6 ms | yes |", lines);
        Assert.Contains("| 5 | mismatch path events/s vs normal path | 19,000 | 20,000 | 0.95 | >= 0.90x (cost <= 10%) | yes |", lines);
        Assert.Contains("| 5 | mismatch path CPU per transaction (ms) vs normal | 2.30 | 2.00 | 1.15 | <= 1.10x | **no** |", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("| 3 ", StringComparison.Ordinal) || l.StartsWith("| 4 ", StringComparison.Ordinal)); // phases not run
    }

    private void Write(string phase, params TargetSummary[] targets) =>
        File.WriteAllText(Path.Combine(_dir, phase + ".json"), JsonSerializer.Serialize(new PhaseReport(phase, "", 3, 10, [.. targets]), BenchJson.Options));

    private static TargetSummary Summary(string name, double eventsPerSecond, double p99, double cpu) =>
        new(name, "server GC", 100, 1, null, eventsPerSecond, p99 / 2, p99, cpu, null, null, null, null, null, 0, null,
            [new RoundResult(1, 10, 300, 0, 30_000, eventsPerSecond, p99 / 2, p99, p99, cpu * 300, cpu, null, null, null, null, null, null, null)]);
}
