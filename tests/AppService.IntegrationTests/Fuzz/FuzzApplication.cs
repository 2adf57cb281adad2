using System.Globalization;
using AppService.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Npgsql;

namespace AppService.IntegrationTests.Fuzz;

/// <summary>
/// The service for the fuzz gate: a 1 MiB body limit (bodies at and over it stay cheap) on its own database.
/// </summary>
public class FuzzApplication : AppServiceApplication
{
    public const int MaxTransactionBytes = 1024 * 1024;

    public static IEnumerable<KeyValuePair<string, string?>> FuzzSettings =>
        [new("AppService:MaxTransactionBytes", MaxTransactionBytes.ToString(CultureInfo.InvariantCulture))];

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => FuzzSettings;

    protected override async Task<string> CreateDatabaseAsync(PostgresServer postgres)
    {
        string connectionString = await base.CreateDatabaseAsync(postgres);
        await WithoutCommitFlushAsync(postgres, DatabaseName);
        return connectionString;
    }

    /// <summary>
    /// Durability is not what the fuzz gate checks (no crash is injected): without a WAL flush per commit the
    /// ~20,000 commits of a run cost a fraction of the time on a shared machine. Every answer and every row
    /// the test reads is the same as with synchronous_commit = on.
    /// </summary>
    public static async Task WithoutCommitFlushAsync(PostgresServer postgres, string database)
    {
        await using var connection = new NpgsqlConnection(postgres.AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"ALTER DATABASE \"{database}\" SET synchronous_commit = off", connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// The fuzz gate's service behind real Kestrel on 127.0.0.1: chunked bodies, raw sockets, and a short request-body
/// data rate so a body that stalls is cut after about two seconds.
/// </summary>
public class KestrelFuzzApplication : KestrelApplication
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => FuzzApplication.FuzzSettings;

    protected override void ConfigureKestrel(KestrelServerOptions options)
    {
        base.ConfigureKestrel(options);
        options.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(2));
    }

    protected override async Task<string> CreateDatabaseAsync(PostgresServer postgres)
    {
        string connectionString = await base.CreateDatabaseAsync(postgres);
        await FuzzApplication.WithoutCommitFlushAsync(postgres, DatabaseName);
        return connectionString;
    }
}
