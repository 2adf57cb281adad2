using AppService.Data;
using AppService.Hosting;
using AppService.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AppService.IntegrationTests.Data;

/// <summary>The start's migrations are not held to the connection string's Command Timeout (an index build may take minutes).</summary>
public sealed class MigrationCommandTimeoutTests
{
    [Fact]
    public async Task A_migration_statement_may_outlast_the_connection_strings_command_timeout()
    {
        var postgres = await PostgresServer.GetAsync();
        string connectionString = new NpgsqlConnectionStringBuilder(
            await postgres.CreateDatabaseAsync("migration_timeout_" + Guid.NewGuid().ToString("N")[..12])) { CommandTimeout = 1 }.ConnectionString;
        await using (var db = Context(connectionString))
        {
            await db.GetService<IMigrator>().MigrateAsync("20261207045846_MemberStateOnce");
        }

        // ChangeLogRoomIndex's CREATE INDEX waits 3 s for this lock, counted from when it is seen waiting: three times the
        // connection string's Command Timeout (counted from before the migrator started, a slow start would shorten the
        // wait below 1 s, and the test pass without the fix).
        await using var holder = new NpgsqlConnection(connectionString);
        await holder.OpenAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await using (var take = new NpgsqlCommand("LOCK TABLE change_log IN ROW EXCLUSIVE MODE", holder, transaction))
        {
            await take.ExecuteNonQueryAsync();
        }

        var release = Task.Run(async () =>
        {
            var probe = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, CommandTimeout = 30 }.ConnectionString;
            var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60);
            while (!await IndexBuildWaitsAsync(probe))
            {
                Assert.True(DateTimeOffset.UtcNow < deadline, "The migration's CREATE INDEX was never seen waiting for the lock.");
                await Task.Delay(20);
            }

            await Task.Delay(TimeSpan.FromSeconds(3));
            await transaction.CommitAsync();
        });

        await using var services = new ServiceCollection().AddDbContext<AppDbContext>(o => o.UseNpgsql(connectionString)).BuildServiceProvider();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("ConnectionStrings:AppService", connectionString)]).Build();
        var migrator = new DatabaseMigrator(
            services, Options.Create(new AppServiceOptions { MigrateOnStartup = true }), configuration, NullLogger<DatabaseMigrator>.Instance);
        await migrator.StartAsync(CancellationToken.None);
        await release;

        await using var check = Context(connectionString);
        Assert.Empty(await check.Database.GetPendingMigrationsAsync());
        Assert.Equal(1, await check.Database.SqlQuery<int>($"SELECT count(*)::int AS \"Value\" FROM pg_indexes WHERE indexname = 'ix_change_log_room'").SingleAsync());
    }

    private static async Task<bool> IndexBuildWaitsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%CREATE INDEX ix_change_log_room %'",
            connection);
        return (long)(await command.ExecuteScalarAsync())! > 0;
    }

    private static AppDbContext Context(string connectionString) =>
        new(new DbContextOptionsBuilder<AppDbContext>().UseNpgsql(connectionString).Options);
}
