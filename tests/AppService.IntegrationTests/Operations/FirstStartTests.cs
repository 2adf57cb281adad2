using AppService.IntegrationTests.Infrastructure;
using Npgsql;

namespace AppService.IntegrationTests.Operations;

/// <summary>The service started on a server where its database does not exist yet, as run.sh's first start is.</summary>
public sealed class FirstStartApplication : AppServiceApplication
{
    protected override Task<string> CreateDatabaseAsync(PostgresServer postgres) =>
        Task.FromResult(new NpgsqlConnectionStringBuilder(postgres.AdminConnectionString) { Database = DatabaseName, MaxPoolSize = 8 }.ConnectionString);
}

public sealed class FirstStartTests(FirstStartApplication app) : IClassFixture<FirstStartApplication>
{
    [Fact]
    public async Task A_first_start_creates_the_database_and_logs_no_error_line()
    {
        var stats = await app.StatsAsync();

        Assert.Equal(0, stats.EventsProcessed);
        Assert.Contains(app.Logs.Lines, l => l.Contains($"Created the database {app.DatabaseName}", StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs.Lines, l => l.StartsWith("Error ", StringComparison.Ordinal) || l.StartsWith("Critical ", StringComparison.Ordinal));
    }
}
