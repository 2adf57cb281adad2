using AppService.Data;
using AppService.Observability;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AppService.Hosting;

/// <summary>
/// Applies pending EF Core migrations before the server starts listening (AppService:MigrateOnStartup), creating the
/// database first if it does not exist: EF would create it too, but only after logging its failed connection at
/// Error level, and a good first start should print no error line. For the same reason the migrations history table
/// is created before EF looks at it: EF reads it first and, on a new database, logs the failed SELECT at Error
/// ("Failed executing DbCommand ... __EFMigrationsHistory"), visible to any provider-level log rule.
/// </summary>
internal sealed partial class DatabaseMigrator(
    IServiceProvider services, IOptions<AppServiceOptions> options, IConfiguration configuration, ILogger<DatabaseMigrator> logger) : IHostedService
{
    /// <summary>How long one migration statement may run (docs/operations.md, upgrades).</summary>
    private static readonly TimeSpan MigrationCommandTimeout = TimeSpan.FromMinutes(30);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.MigrateOnStartup)
        {
            return;
        }

        await CreateDatabaseIfMissingAsync(cancellationToken);
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        await CreateHistoryTableIfMissingAsync(db, cancellationToken);
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        if (pending.Count > 0)
        {
            LogApplying(logger, pending.Count, string.Join(", ", pending));
            // A migration may read a whole table (an index build on a large change log: 1.7 s per million rows); the
            // connection string's Command Timeout (20-30 s) is for the service's own statements, not for these.
            db.Database.SetCommandTimeout(MigrationCommandTimeout);
            await db.Database.MigrateAsync(cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Asks the catalogue whether the history table exists (to_regclass: on the search path, as EF's unqualified
    /// statements; no failing statement), and creates it if not, as EF's tools do. (The history repository's own
    /// ExistsAsync runs the failing SELECT itself.)
    /// </summary>
    private static async Task CreateHistoryTableIfMissingAsync(AppDbContext db, CancellationToken cancellationToken)
    {
        string table = $"\"{HistoryRepository.DefaultTableName}\"";
        bool exists = await db.Database.SqlQuery<bool>($"SELECT to_regclass({table}) IS NOT NULL AS \"Value\"").SingleAsync(cancellationToken);
        if (exists)
        {
            return;
        }

        try
        {
            await db.GetService<IHistoryRepository>().CreateIfNotExistsAsync(cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable)
        {
            // Another replica created it at the same instant (CREATE TABLE IF NOT EXISTS can still race in PostgreSQL).
        }
    }

    /// <summary>Connects once; if the database does not exist (3D000), creates it from the server's 'postgres' database.</summary>
    private async Task CreateDatabaseIfMissingAsync(CancellationToken cancellationToken)
    {
        var target = new NpgsqlConnectionStringBuilder(configuration.GetConnectionString("AppService")) { Pooling = false };
        try
        {
            await using var probe = new NpgsqlConnection(target.ConnectionString);
            await probe.OpenAsync(cancellationToken);
            return;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidCatalogName)
        {
            // Missing: create it below. Any other failure is left to the migration, which retries and reports it.
        }
        catch (Exception ex) when (DatabaseFailures.IsDatabaseError(ex))
        {
            return;
        }

        string name = target.Database ?? target.Username ?? "postgres";
        var maintenance = new NpgsqlConnectionStringBuilder(target.ConnectionString) { Database = "postgres" };
        await using var connection = new NpgsqlConnection(maintenance.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
        try
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
            LogCreated(logger, name);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DuplicateDatabase)
        {
            // Another replica created it meanwhile.
        }
    }

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Created the database {Database}")]
    private static partial void LogCreated(ILogger logger, LogText database);

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Applying {Count} database migration(s): {Migrations}")]
    private static partial void LogApplying(ILogger logger, int count, LogText migrations);
}
