using AppService.IntegrationTests.Infrastructure;
using Npgsql;

namespace AppService.IntegrationTests.Operations;

/// <summary>
/// The service started on a server where its database does not exist yet, as run.sh's first start is, with the
/// provider-level rule an operator sets to see more (<c>Logging__Console__LogLevel__Default=Information</c>): such a
/// rule overrides appsettings.json's category filters (Microsoft.EntityFrameworkCore at Warning) for its provider.
/// </summary>
public sealed class FirstStartApplication : AppServiceApplication
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Logging:Captured:LogLevel:Default", "Information")];

    protected override Task<string> CreateDatabaseAsync(PostgresServer postgres) =>
        Task.FromResult(new NpgsqlConnectionStringBuilder(postgres.AdminConnectionString) { Database = DatabaseName, MaxPoolSize = 8 }.ConnectionString);
}

public sealed class FirstStartTests(FirstStartApplication app) : IClassFixture<FirstStartApplication>
{
    [Fact]
    public async Task A_first_start_creates_the_database_and_logs_no_error_line_even_at_a_provider_level_information_rule()
    {
        var stats = await app.StatsAsync();

        Assert.Equal(0, stats.EventsProcessed);
        Assert.Contains(app.Logs.Lines, l => l.Contains($"Created the database {app.DatabaseName}", StringComparison.Ordinal));
        Assert.Contains(app.Logs.Lines, l => l.Contains("Applying ", StringComparison.Ordinal) && l.Contains("database migration(s)", StringComparison.Ordinal));
        var errors = app.Logs.Lines.Where(l => l.StartsWith("Error ", StringComparison.Ordinal) || l.StartsWith("Critical ", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }
}
