extern alias simulator;

using AppService.IntegrationTests.Infrastructure;
using simulator::AppService.Simulator.Homeserver;

namespace AppService.IntegrationTests.Simulator;

/// <summary>
/// The service in process against real PostgreSQL, with the simulator as its homeserver: the simulator's
/// <see cref="HsServer"/> listens on a loopback port (the service's HttpClient, resilience pipeline and sockets are the
/// production ones) and is <c>AppService:HomeserverUrl</c>. Jobs retry in milliseconds, and the drift check samples two
/// rooms every two seconds, so drift checks run during a run without repairing everything before the oracle looks.
/// </summary>
public sealed class SimulatedHomeserverApplication : AppServiceApplication
{
    internal HsServer SimulatedHomeserver { get; } = new(AsToken);

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("AppService:HomeserverUrl", SimulatedHomeserver.Url.ToString()),
        new("AppService:Jobs:PollInterval", "00:00:00.200"),
        new("AppService:Jobs:RetryBaseDelay", "00:00:00.100"),
        new("AppService:Jobs:MaxRetryDelay", "00:00:01"),
        new("AppService:HomeserverClient:AttemptTimeout", "00:00:05"),
        new("AppService:HomeserverClient:TotalTimeout", "00:00:10"),
        new("AppService:HomeserverClient:RetryDelay", "00:00:00.050"),
        new("AppService:HomeserverClient:BreakDuration", "00:00:00.500"),
        new("AppService:DriftCheck:Enabled", "true"),
        new("AppService:DriftCheck:Interval", "00:00:02"),
        new("AppService:DriftCheck:SampleSize", "2"),
        // Per-request and per-transaction logs of a few thousand calls would only slow the run down.
        new("Logging:LogLevel:System.Net.Http", "Warning"),
        new("Logging:LogLevel:Polly", "Warning"),
        new("Logging:LogLevel:AppService.Transactions", "Warning"),
    ];

    /// <summary>The homeserver must listen (and know its port) before the host reads AppService:HomeserverUrl.</summary>
    protected override async Task<string> CreateDatabaseAsync(PostgresServer postgres)
    {
        await SimulatedHomeserver.StartAsync(0);
        return await base.CreateDatabaseAsync(postgres);
    }

    /// <summary>A homeserver-mode run of the simulator against this service (in-process HTTP for pushes and the admin API).</summary>
    internal HomeserverRun Run(TextWriter output)
    {
        var client = CreateClient();
        SimulatedHomeserver.PingBackTo(client, client.BaseAddress!, HsToken);
        return new HomeserverRun(SimulatedHomeserver, client, client.BaseAddress!, HsToken, AdminToken, output);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await SimulatedHomeserver.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
