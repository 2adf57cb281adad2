using System.Net;
using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Operations;

/// <summary>
/// /metrics, /health/live and /health/ready over HTTP. Metrics are process-wide: this class runs alone
/// (<see cref="ProcessWideMetrics"/>), so each counter is checked for exactly the growth its test caused.
/// </summary>
[Collection(ProcessWideMetrics.Name)]
public sealed class MetricsAndHealthTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task Health_endpoints_answer_Healthy_without_a_token_and_nothing_more(string path)
    {
        using var response = await app.CreateClient().GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Ready_is_unhealthy_while_a_migration_is_pending_and_live_stays_healthy()
    {
        // Make the latest migration look unapplied, as after deploying a new version with MigrateOnStartup=false.
        string last = await ScalarTextAsync("""SELECT max("MigrationId") FROM "__EFMigrationsHistory" """);
        string version = await ScalarTextAsync($"""SELECT "ProductVersion" FROM "__EFMigrationsHistory" WHERE "MigrationId" = '{last}'""");
        await app.ExecuteSqlAsync($"""DELETE FROM "__EFMigrationsHistory" WHERE "MigrationId" = '{last}'""");
        try
        {
            using var ready = await app.CreateClient().GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal("Unhealthy", await ready.Content.ReadAsStringAsync());

            using var live = await app.CreateClient().GetAsync("/health/live");
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }
        finally
        {
            await app.ExecuteSqlAsync($"""INSERT INTO "__EFMigrationsHistory" VALUES ('{last}', '{version}')""");
        }

        using var again = await app.CreateClient().GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task Metrics_need_no_token_list_every_operational_series_and_leak_no_configuration()
    {
        var scrape = await Scrape.TakeAsync(app.CreateClient());

        foreach (string name in new[]
        {
            "appservice_transactions_received_total", "appservice_transactions_replayed_total",
            "appservice_transactions_failed_total{reason=\"bad_request\"}", "appservice_transactions_failed_total{reason=\"database_unavailable\"}",
            "appservice_events_processed_total", "appservice_events_duplicate_total",
            "appservice_events_rejected_total{reason=\"invalid_string\"}", "appservice_events_rejected_total{reason=\"processing_failed\"}",
            "appservice_transactions_salvaged_total", "appservice_snapshot_entries_skipped_total",
            "appservice_retention_rows_deleted_total{table=\"rejected_events\"}",
            "appservice_transaction_duration_seconds_count", "appservice_transaction_events_count", "appservice_http_requests_in_flight",
            "appservice_transactions_in_flight", "appservice_last_transaction_timestamp_seconds", "appservice_seconds_since_last_transaction",
            "appservice_job_queue_depth", "appservice_homeserver_errors_total{operation=\"ping\"}",
            "appservice_database_errors_total{operation=\"ingest\"}", "appservice_retention_rows_deleted_total{table=\"processed_events\"}",
        })
        {
            Assert.True(scrape.Series.ContainsKey(name), $"{name} is not exported");
        }

        // Npgsql's own metrics name the pool by its connection string; they must not be exported.
        foreach (string secret in new[] { AppServiceApplication.HsToken, AppServiceApplication.AsToken, AppServiceApplication.AdminToken, app.DatabaseName, "Host=", "Username=" })
        {
            Assert.DoesNotContain(secret, scrape.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_transaction_moves_the_received_processed_and_last_transaction_metrics()
    {
        var client = app.CreateClient();
        var before = await Scrape.TakeAsync(client);
        double now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        string room = NewRoomId();

        await app.PushOkAsync("metrics-1", Member(room, Alice, "join"), Message(room, Alice, "one"), Message(room, Alice, "two"));

        var after = await Scrape.TakeAsync(client);
        Assert.Equal(1, after.Growth(before, "appservice_transactions_received_total"));
        Assert.Equal(3, after.Growth(before, "appservice_events_processed_total"));
        Assert.Equal(1, after.Growth(before, "appservice_transaction_duration_seconds_count"));
        Assert.Equal(1, after.Growth(before, "appservice_transaction_events_bucket{le=\"5\"}"));
        Assert.Equal(0, after.Growth(before, "appservice_transaction_events_bucket{le=\"2\"}")); // three events: not in a lower bucket
        Assert.True(after["appservice_last_transaction_timestamp_seconds"] >= now - 1);
        Assert.True(after["appservice_seconds_since_last_transaction"] < 60);
    }

    [Fact]
    public async Task Ephemeral_to_device_and_device_data_of_an_acknowledged_transaction_are_counted()
    {
        var client = app.CreateClient();
        string room = NewRoomId();
        var typing = new JsonObject { ["type"] = "m.typing", ["room_id"] = room, ["content"] = new JsonObject { ["user_ids"] = new JsonArray(Alice) } };
        var body = new JsonObject
        {
            ["events"] = new JsonArray(Member(room, Alice, "join")),
            ["ephemeral"] = new JsonArray(typing.DeepClone(), new JsonObject { ["type"] = "m.presence", ["sender"] = Alice, ["content"] = new JsonObject() }),
            ["de.sorunome.msc2409.ephemeral"] = new JsonArray(typing.DeepClone()),
            ["de.sorunome.msc2409.to_device"] = new JsonArray(new JsonObject { ["type"] = "m.dummy", ["to_user_id"] = "@_bot_x:test", ["to_device_id"] = "D", ["content"] = new JsonObject() }),
            ["org.matrix.msc3202.device_lists"] = new JsonObject { ["changed"] = new JsonArray(), ["left"] = new JsonArray() },
        }.ToJsonString();
        var before = await Scrape.TakeAsync(client);

        for (int i = 0; i < 2; i++) // the second is a replay of the same txnId: nothing new to count
        {
            using var response = await app.Homeserver().PutAsync("/_matrix/app/v1/transactions/metrics-ephemeral",
                new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var after = await Scrape.TakeAsync(client);
        Assert.Equal(2, after.Growth(before, "appservice_ephemeral_received_total{kind=\"ephemeral\"}"));
        Assert.Equal(1, after.Growth(before, "appservice_ephemeral_received_total{kind=\"to_device\"}"));
        Assert.Equal(1, after.Growth(before, "appservice_ephemeral_received_total{kind=\"device_data\"}"));
    }

    [Fact]
    public async Task A_replayed_transaction_counts_as_replayed_and_its_events_as_duplicates()
    {
        var client = app.CreateClient();
        string room = NewRoomId();
        JsonObject[] events = [Member(room, Alice, "join"), Message(room, Alice, "hi")];
        await app.PushOkAsync("metrics-replay", events);
        var before = await Scrape.TakeAsync(client);

        await app.PushOkAsync("metrics-replay", events);

        var after = await Scrape.TakeAsync(client);
        Assert.Equal(1, after.Growth(before, "appservice_transactions_replayed_total"));
        Assert.Equal(2, after.Growth(before, "appservice_events_duplicate_total"));
        Assert.Equal(0, after.Growth(before, "appservice_events_processed_total"));
    }

    [Fact]
    public async Task A_refused_body_counts_as_a_failed_transaction_with_its_reason()
    {
        var client = app.CreateClient();
        var before = await Scrape.TakeAsync(client);

        using var response = await app.Homeserver().PutAsync(
            "/_matrix/app/v1/transactions/metrics-bad", new StringContent("not json", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var after = await Scrape.TakeAsync(client);
        const string series = "appservice_transactions_failed_total{reason=\"bad_request\"}";
        Assert.Equal(1, after.Growth(before, series));
        Assert.Equal(0, after.Growth(before, "appservice_events_processed_total"));
    }

    private async Task<string> ScalarTextAsync(string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
