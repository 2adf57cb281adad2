using System.Diagnostics;
using System.Text.Json;
using AppService.Data;
using AppService.Hosting;
using AppService.Matrix;
using AppService.Simulator.Sending;
using AppService.Simulator.Workload;
using AppService.Transactions;
using Microsoft.EntityFrameworkCore;

namespace AppService.Benchmarks;

/// <summary>
/// The benchmark's floor: the service's own ingest (<see cref="TransactionProcessor"/>, resolved from the service's
/// own registrations, so the same SQL, connection settings and retry strategy) replaying the simulator's exact
/// workload with one client, but without HTTP, JSON parsing or the ASP.NET pipeline: bodies are parsed before the
/// clock starts. What the service spends above this is the cost of being a web service.
/// </summary>
internal sealed class FloorDriver(FloorOptions o, TextWriter output)
{
    public async Task<int> RunAsync()
    {
        var workload = WorkloadGenerator.Generate(new WorkloadOptions
        {
            Events = o.Events, Rooms = o.Rooms, Users = o.Users, Seed = o.Seed, BotUserId = o.Bot,
        });
        var plan = TransactionPlanner.Plan(workload, new PlanOptions { Mode = HomeserverMode.Synapse, Seed = o.Seed });
        var duplicates = TransactionPlanner.DuplicateOnly(plan);
        var warmup = WarmupPlan();

        var url = new Uri("http://127.0.0.1/");
        var main = Parse(PreparedTransaction.Prepare(plan.Transactions, url, HomeserverMode.Synapse));
        var dup = Parse(PreparedTransaction.Prepare(duplicates, url, HomeserverMode.Synapse));
        var warm = Parse(PreparedTransaction.Prepare(warmup, url, HomeserverMode.Synapse));

        await using var app = BuildServiceContainer();
        await using (var scope = app.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<AppDbContext>().Database.MigrateAsync();
        }

        output.WriteLine($"floor: {main.Count} transactions, {main.Sum(t => t.Parsed.TotalEvents)} events; warm-up {warm.Count}");
        await ReplayAsync(app.Services, warm);
        await Task.Delay(TimeSpan.FromSeconds(o.WarmupPause)); // as the simulator does: let tiered JIT settle
        var mainResult = await ReplayAsync(app.Services, main);
        var dupResult = await ReplayAsync(app.Services, dup);
        output.WriteLine($"floor main: {mainResult.EventsPerSecond:0} events/s, p50 {mainResult.P50:0.00} ms, p99 {mainResult.P99:0.00} ms");
        output.WriteLine($"floor duplicate-only: {dupResult.EventsPerSecond:0} events/s, p50 {dupResult.P50:0.00} ms, p99 {dupResult.P99:0.00} ms");

        if (o.Json is not null)
        {
            await File.WriteAllTextAsync(o.Json, JsonSerializer.Serialize(
                new FloorReport("floor", o.Events, o.Seed, mainResult, dupResult), BenchJson.Options));
        }

        foreach (var t in main.Concat(dup).Concat(warm))
        {
            t.Document.Dispose();
        }

        return 0;
    }

    private List<PlannedTransaction> WarmupPlan()
    {
        if (o.Warmup == 0)
        {
            return [];
        }

        // The same separate warm-up workload the simulator sends before its timed phase.
        var workload = WorkloadGenerator.Generate(new WorkloadOptions
        {
            Events = o.Warmup * TransactionPlanner.SynapseMaxEvents, Rooms = Math.Clamp(o.Rooms / 10, 1, 5), Users = o.Users,
            Seed = o.Seed ^ 0x5741524D, BotUserId = o.Bot,
        });
        return TransactionPlanner.Plan(workload, new PlanOptions { Mode = HomeserverMode.Synapse, Seed = o.Seed })
            .Transactions.Take(o.Warmup)
            .Select((t, i) => new PlannedTransaction { TxnId = $"warmup-{i + 1}", Events = t.Events, Kind = t.Kind })
            .ToList();
    }

    private static List<ParsedBody> Parse(IReadOnlyList<PreparedTransaction> prepared) =>
        prepared.Select(p =>
        {
            var document = JsonDocument.Parse(p.Body);
            return new ParsedBody(p.Plan.TxnId, document, TransactionParser.Parse(document, 65536));
        }).ToList();

    /// <summary>The service's container, built from its own set-up code, never started: no server, no hosted services.</summary>
    private WebApplication BuildServiceContainer()
    {
        string registration = Path.Combine(Path.GetTempPath(), $"bench-registration-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(registration, $"""
            id: bench
            url: null
            as_token: bench_as_token_{Guid.NewGuid():N}
            hs_token: bench_hs_token_{Guid.NewGuid():N}
            sender_localpart: {o.Bot[1..o.Bot.IndexOf(':', StringComparison.Ordinal)]}
            namespaces:
              users: []
            """);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:AppService"] = o.ConnectionString,
            ["AppService:RegistrationFile"] = registration,
            ["AppService:ServerName"] = o.Bot[(o.Bot.IndexOf(':', StringComparison.Ordinal) + 1)..],
            ["AppService:AdminToken"] = "bench-admin-token-not-served",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddAppService();
        return builder.Build();
    }

    private static async Task<PhaseResult> ReplayAsync(IServiceProvider services, List<ParsedBody> transactions)
    {
        var latencies = new double[transactions.Count];
        long events = 0;
        var total = Stopwatch.StartNew();
        for (int i = 0; i < transactions.Count; i++)
        {
            var t = transactions[i];
            long started = Stopwatch.GetTimestamp();
            await using (var scope = services.CreateAsyncScope())
            {
                await scope.ServiceProvider.GetRequiredService<TransactionProcessor>().ProcessAsync(t.TxnId, t.Parsed, CancellationToken.None);
            }

            latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            events += t.Parsed.TotalEvents;
        }

        return PhaseResult.From(latencies, events, total.Elapsed.TotalSeconds);
    }

    private sealed record ParsedBody(string TxnId, JsonDocument Document, ParsedTransaction Parsed);
}
