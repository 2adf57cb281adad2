using System.Text.Json.Nodes;
using AppService.Data;
using AppService.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AppService.IntegrationTests.Changes;

/// <summary>
/// The change-log reads plan the horizon as the one row it is, on a database whose horizon table was never analyzed
/// (a new install: autovacuum analyzes it only after some 50 retention batches). Planned from its size instead (about
/// 1,450 rows), it multiplied the lateral read's estimate past jit_above_cost: 90-300 ms of JIT for a 4 ms feed page.
/// </summary>
public sealed class ChangeFeedPlanTests
{
    public static TheoryData<string, string> Reads => new()
    {
        { nameof(ChangeSql.SelectFeed), "EXECUTE r(NULL, NULL, '!room:test', NULL, 100)" },
        { nameof(ChangeSql.SelectHistory), "EXECUTE r(NULL, NULL, '!room:test', '@alice:test', 100)" },
        { nameof(ChangeSql.SelectMembersAt), "EXECUTE r('!room:test', now(), NULL, NULL, 100)" },
    };

    [Theory]
    [MemberData(nameof(Reads))]
    public async Task A_change_log_read_plans_the_unanalyzed_horizon_as_one_row(string read, string execute)
    {
        var postgres = await PostgresServer.GetAsync();
        string connectionString = await postgres.CreateDatabaseAsync("feed_plan_" + Guid.NewGuid().ToString("N")[..12]);
        await using (var db = new AppDbContext(new DbContextOptionsBuilder<AppDbContext>().UseNpgsql(connectionString).Options))
        {
            await db.Database.MigrateAsync();
        }

        string sql = (string)typeof(ChangeSql).GetField(read)!.GetValue(null)!;
        string types = read == nameof(ChangeSql.SelectMembersAt) ? "text, timestamptz, text, text, int" : "text, bigint, text, text, int";
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var analyzed = new NpgsqlCommand("SELECT last_analyze IS NULL AND last_autoanalyze IS NULL FROM pg_stat_user_tables WHERE relname = 'change_log_horizon'", connection))
        {
            Assert.True((bool)(await analyzed.ExecuteScalarAsync())!); // the case under test: no statistics yet
        }

        await using (var prepare = new NpgsqlCommand($"PREPARE r({types}) AS {sql}", connection))
        {
            await prepare.ExecuteNonQueryAsync();
        }

        await using var explain = new NpgsqlCommand($"EXPLAIN (FORMAT JSON) {execute}", connection);
        var plan = JsonNode.Parse((string)(await explain.ExecuteScalarAsync())!)![0]!["Plan"]!;

        var horizon = Nodes(plan).Where(n => (string?)n["Relation Name"] == "change_log_horizon").ToList();
        Assert.NotEmpty(horizon);
        Assert.All(horizon, n => Assert.Equal(1, (double)n["Plan Rows"]!));
    }

    private static IEnumerable<JsonNode> Nodes(JsonNode node) =>
        new[] { node }.Concat((node["Plans"] as JsonArray)?.SelectMany(child => Nodes(child!)) ?? []);
}
