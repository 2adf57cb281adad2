using System.Net;
using System.Text.Json;
using AppService.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Transactions;

/// <summary>
/// The service with no background work on its pool while a test holds the database read-only: the idle job worker counts
/// open jobs every poll interval (5 s by default), and a count inside the read-only window would open a session that
/// stays read-only, idle in the pool, for the request "after the failover" (which would answer 503 once more and clear
/// the pool: the homeserver's next retry would be applied, but not the test's).
/// </summary>
public sealed class ReadOnlyDatabaseApplication : AppServiceApplication
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("AppService:Jobs:PollInterval", "00:10:00"),
        new("AppService:Retention:Enabled", "false"),
    ];
}

/// <summary>
/// A failover seen from the service without a cluster: <c>default_transaction_read_only = on</c> on the test database
/// makes every new session read-only, as on a standby or on a primary a failover manager has just demoted
/// (docs/operations.md "High availability"). The pool is cleared so the service's connections are such sessions.
/// </summary>
public sealed class ReadOnlyDatabaseTests(ReadOnlyDatabaseApplication app) : IClassFixture<ReadOnlyDatabaseApplication>
{
    /// <summary>Outside every pool (the test's own pooled connections would turn read-only too).</summary>
    private async Task<T> AdminAsync<T>(string sql)
    {
        var builder = new NpgsqlConnectionStringBuilder(app.ConnectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private Task<int> SetReadOnlyAsync(bool on) => AdminAsync<int>(
        $"ALTER DATABASE \"{app.DatabaseName}\" {(on ? "SET default_transaction_read_only = on" : "RESET default_transaction_read_only")}; SELECT 1");

    private async Task<long> ProcessedInTxnAsync(string txnId)
    {
        var builder = new NpgsqlConnectionStringBuilder(app.ConnectionString) { Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM processed_events WHERE txn_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = txnId });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private void ClearServicePool() => app.Services.GetRequiredService<NpgsqlDataSource>().Clear();

    [Fact]
    public async Task A_transaction_on_a_read_only_server_answers_503_with_Retry_After_and_the_retry_after_failover_is_applied_once()
    {
        string room = NewRoomId();
        await app.PushOkAsync("ro-warm", Member(room, Alice, "join"));
        await SetReadOnlyAsync(true);
        try
        {
            ClearServicePool();
            using var response = await app.PushAsync("ro-1", Member(room, Bob, "join"), Message(room, Bob, "hi"));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("5", response.Headers.GetValues("Retry-After").Single());
            Assert.Equal("M_UNKNOWN", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errcode").GetString());
            Assert.Equal(0, await ProcessedInTxnAsync("ro-1"));
        }
        finally
        {
            // The "failover" completes: new sessions take writes again. The service's pool is NOT cleared here:
            // the connections that answered read-only must not serve the retry (ConnectionHygiene drops them).
            await SetReadOnlyAsync(false);
        }

        await app.PushOkAsync("ro-1", Member(room, Bob, "join"), Message(room, Bob, "hi"));
        Assert.Equal("join", (await app.MemberAsync(room, Bob))!.Membership);
        Assert.Equal(2, await ProcessedInTxnAsync("ro-1"));
        Assert.Equal(2, await app.QueryAsync<int>("SELECT new_event_count FROM txn_ledger WHERE txn_id = $1", "ro-1"));
    }

    [Fact]
    public async Task Readiness_is_not_ready_while_the_database_is_read_only_and_ready_again_after()
    {
        using (var before = await app.CreateClient().GetAsync("/health/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await SetReadOnlyAsync(true);
        try
        {
            ClearServicePool();
            using var ready = await app.CreateClient().GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal("Unhealthy", await ready.Content.ReadAsStringAsync());
        }
        finally
        {
            await SetReadOnlyAsync(false);
        }

        // Without clearing the pool from here: the check dropped the read-only connections itself.
        using var again = await app.CreateClient().GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }
}
