using System.Text.Json.Nodes;
using AppService.Hosting;
using AppService.IntegrationTests.BotLifecycle;
using AppService.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Data;

/// <summary>
/// The service's pooled connections skip Npgsql's reset round (No Reset On Close, AppServiceSetup.CreateDataSource):
/// nothing the service does may leave session state on a connection that the next request would inherit. With a pool
/// of one, every request runs on the same backend, so what an ingest leaves behind is what the next one would see.
/// </summary>
public sealed class PooledConnectionStateTests : IClassFixture<PooledConnectionStateTests.SingleConnectionApplication>
{
    private readonly SingleConnectionApplication _app;

    public PooledConnectionStateTests(SingleConnectionApplication app) => _app = app;

    [Fact]
    public void The_service_data_source_skips_the_reset_round_unless_the_connection_string_sets_it()
    {
        using var ours = AppServiceSetup.CreateDataSource("Host=127.0.0.1;Username=postgres");
        Assert.True(new NpgsqlConnectionStringBuilder(ours.ConnectionString).NoResetOnClose);

        using var theirs = AppServiceSetup.CreateDataSource("Host=127.0.0.1;Username=postgres;No Reset On Close=false");
        Assert.False(new NpgsqlConnectionStringBuilder(theirs.ConnectionString).NoResetOnClose);
    }

    [Fact]
    public async Task After_an_ingest_the_pooled_connection_holds_no_session_state()
    {
        var dataSource = _app.Services.GetRequiredService<NpgsqlDataSource>();
        int backend = await BackendAsync(dataSource);

        // An ingest that inserts, projects, redacts, purges (the bot leaves) and replays a duplicate.
        string room = NewRoomId();
        var message = Message(room, Alice, "hello");
        await _app.PushOkAsync(
            "state-1",
            State(room, "m.room.create", new JsonObject { ["creator"] = Alice }, Alice),
            Member(room, Alice, "join"),
            Member(room, AppServiceApplication.BotUserId, "join"),
            message,
            BotEvents.Redaction(room, message.Id()));
        await _app.PushOkAsync("state-2", Member(room, AppServiceApplication.BotUserId, "leave"));
        await _app.PushOkAsync("state-3", message);

        await using var connection = await dataSource.OpenConnectionAsync();
        Assert.Equal(backend, connection.ProcessID); // the same backend the ingest ran on (a pool of one)
        await using var command = new NpgsqlCommand(
            """
            SELECT current_setting('plan_cache_mode'), current_setting('enable_seqscan'), current_setting('enable_hashjoin'),
                   current_setting('enable_mergejoin'), coalesce(current_setting('appservice.ingest_inserted', true), ''),
                   (SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory'),
                   (SELECT count(*) FROM pg_cursors WHERE name <> ''), (SELECT count(*) FROM pg_listening_channels()),
                   (SELECT count(*) FROM pg_class WHERE relpersistence = 't'), session_user = current_user
            """,
            connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("force_custom_plan", reader.GetString(0));
        Assert.Equal("on", reader.GetString(1));
        Assert.Equal("on", reader.GetString(2));
        Assert.Equal("on", reader.GetString(3));
        Assert.Equal("", reader.GetString(4));
        Assert.Equal(0, reader.GetInt64(5));
        Assert.Equal(0, reader.GetInt64(6));
        Assert.Equal(0, reader.GetInt64(7));
        Assert.Equal(0, reader.GetInt64(8));
        Assert.True(reader.GetBoolean(9));
    }

    private static async Task<int> BackendAsync(NpgsqlDataSource dataSource)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        return connection.ProcessID;
    }

    /// <summary>The service on a pool of one connection.</summary>
    public sealed class SingleConnectionApplication : AppServiceApplication
    {
        protected override async Task<string> CreateDatabaseAsync(PostgresServer postgres) =>
            await base.CreateDatabaseAsync(postgres) + ";Maximum Pool Size=1";
    }
}
