using System.Globalization;
using System.Net;
using AppService.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AppService.IntegrationTests.Fuzz;

/// <summary>
/// The service for the fuzz gate: a 1 MiB body limit (bodies at and over it stay cheap) on its own database.
/// </summary>
public class FuzzApplication : AppServiceApplication
{
    public const int MaxTransactionBytes = 1024 * 1024;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("AppService:MaxTransactionBytes", MaxTransactionBytes.ToString(CultureInfo.InvariantCulture))];

    protected override async Task<string> CreateDatabaseAsync(PostgresServer postgres)
    {
        string connectionString = await base.CreateDatabaseAsync(postgres);

        // Durability is not what the fuzz gate checks (no crash is injected): without a WAL flush per commit the
        // ~20,000 commits of a run cost a fraction of the time on a shared machine. Every answer and every row
        // the test reads is the same as with synchronous_commit = on.
        await using var connection = new NpgsqlConnection(postgres.AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"ALTER DATABASE \"{DatabaseName}\" SET synchronous_commit = off", connection);
        await command.ExecuteNonQueryAsync();
        return connectionString;
    }
}

/// <summary>
/// The same service behind real Kestrel on 127.0.0.1 (an ephemeral port): chunked bodies, raw sockets, and a short
/// request-body data rate so a body that stalls is cut after about two seconds.
/// </summary>
public class KestrelFuzzApplication : FuzzApplication
{
    public KestrelFuzzApplication() =>
        UseKestrel(options =>
        {
            options.Listen(IPAddress.Loopback, 0);
            options.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(2));
        });

    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    protected override void Start()
    {
        StartServer();
        string address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal));
    }

    /// <summary>A real HTTP client (SocketsHttpHandler over loopback) authenticated as the homeserver.</summary>
    public HttpClient KestrelHomeserver()
    {
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", HsToken);
        return client;
    }
}
