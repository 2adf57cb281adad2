using System.Text.Json.Nodes;
using AppService.IntegrationTests.BotLifecycle;
using AppService.IntegrationTests.Infrastructure;
using Npgsql;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Data;

/// <summary>
/// The plan trap of issue 19: the ingest prepares its statements once per connection, and PostgreSQL gives a prepared
/// statement a generic plan from its 6th execution on, planned with the statistics of that moment. A service that
/// starts on an empty database makes those plans while every table is one page, where a sequential scan is the
/// cheapest plan; the plan stays while the tables grow, until something invalidates it (an ANALYZE), and in one
/// benchmark run it read <c>room_state</c> by sequential scan 81,304 times. The service's connections plan every
/// execution for its parameters (<c>plan_cache_mode=force_custom_plan</c>, AppServiceSetup.CreateDataSource), with the
/// table sizes of that moment.
/// </summary>
public sealed class PlanTrapTests : IClassFixture<AppServiceApplication>
{
    private static readonly string[] HotTables =
        ["processed_events", "room_state", "room_members", "rooms", "txn_ledger", "pending_redactions"];

    private readonly AppServiceApplication _app;
    private string? _lastBob;

    public PlanTrapTests(AppServiceApplication app) => _app = app;

    [Fact]
    public async Task Plans_made_while_the_tables_were_empty_do_not_read_them_whole_once_they_are_large()
    {
        // Autovacuum's ANALYZE would invalidate the cached plans at some point; here it stays away, as it does between
        // its runs (autovacuum_naptime, and thresholds that grow with the table) on a database that just grew.
        foreach (string table in HotTables)
        {
            await _app.ExecuteSqlAsync($"ALTER TABLE {table} SET (autovacuum_enabled = false)");
        }

        // The first transactions on an empty database: more than 5 each, so every prepared statement of the ingest
        // reaches the execution where PostgreSQL would switch to a generic plan (one at a time: one pooled connection).
        string room = NewRoomId();
        await _app.PushOkAsync("trap-0", State(room, "m.room.create", new JsonObject { ["creator"] = Alice }, Alice), Member(room, Alice, "join"));
        for (int i = 1; i <= 8; i++)
        {
            await _app.PushOkAsync($"trap-{i}", Transaction(room, i));
        }

        // Then the tables grow (a busy deployment, a bulk import, a restore), without an ANALYZE.
        await _app.ExecuteSqlAsync("""
            INSERT INTO rooms (room_id, name, updated_at, suspect)
                SELECT '!bulk' || g || ':test', 'room ' || g, now(), false FROM generate_series(1, 20000) g;
            INSERT INTO room_members (room_id, user_id, membership, event_id, sender, updated_at)
                SELECT '!bulk' || (g % 20000) || ':test', '@user' || g || ':test', 'join', '$m' || g, '@user' || g || ':test', now()
                FROM generate_series(1, 100000) g;
            INSERT INTO room_state (room_id, event_type, state_key, event_id, sender)
                SELECT '!bulk' || (g % 20000) || ':test', 'm.room.custom', '@user' || g || ':test', '$s' || g, '@user' || g || ':test'
                FROM generate_series(1, 100000) g;
            INSERT INTO processed_events (event_id, room_id, event_type, txn_id, processed_at)
                SELECT '$m' || g, '!bulk' || (g % 20000) || ':test', 'm.room.member', 'bulk' || (g / 100), now()
                FROM generate_series(1, 100000) g;
            INSERT INTO txn_ledger (txn_id, content_hash, event_count, new_event_count, rejected_count, first_seen_at, last_processed_at)
                SELECT 'bulk' || g, '\x00', 100, 100, 0, now(), now() FROM generate_series(0, 999) g;
            INSERT INTO pending_redactions (target_event_id, room_id, redaction_event_id, sender, received_at)
                SELECT '$t' || g, '!bulk' || (g % 20000) || ':test', '$r' || g, '@user' || g || ':test', now() FROM generate_series(1, 20000) g;
            """);

        var before = await SeqScansAsync();
        for (int i = 9; i <= 14; i++)
        {
            await _app.PushOkAsync($"trap-{i}", Transaction(room, i));
        }

        var after = await SeqScansAsync();
        var scanned = HotTables.Where(t => after[t] != before[t]).Select(t => $"{t} {after[t] - before[t]}").ToList();
        Assert.True(scanned.Count == 0, $"sequential scans of large hot-path tables by the ingest: {string.Join(", ", scanned)}");
    }

    /// <summary>
    /// What a transaction of the ingest touches: state, members, a message, a redaction of it, a redaction of the
    /// previous transaction's member event (found through room_members) and one of an event never processed (looked
    /// for among the room's state and member rows).
    /// </summary>
    private JsonObject[] Transaction(string room, int i)
    {
        var message = Message(room, Alice, $"hello {i}");
        var bob = Member(room, Bob, i % 2 == 0 ? "join" : "leave");
        string previousBob = _lastBob ?? $"$bob-never-processed-{i}";
        _lastBob = bob.Id();
        return
        [
            State(room, "m.room.name", new JsonObject { ["name"] = $"name {i}" }, Alice),
            Member(room, $"@u{i}:test", "join"),
            bob,
            message,
            BotEvents.Redaction(room, message.Id()),
            BotEvents.Redaction(room, previousBob),
            BotEvents.Redaction(room, $"$never-processed-{i}"),
        ];
    }

    /// <summary>
    /// pg_stat_user_tables.seq_scan of the hot tables, once the service's backends have reported: PostgreSQL 15
    /// backends flush their counters at most once a second while busy, and after 10 s of idleness.
    /// </summary>
    private async Task<Dictionary<string, long>> SeqScansAsync()
    {
        await Task.Delay(TimeSpan.FromSeconds(11));
        await using var connection = new NpgsqlConnection(_app.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT relname, seq_scan FROM pg_stat_user_tables WHERE relname = ANY(@t)", connection);
        command.Parameters.AddWithValue("t", HotTables);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }

        return counts;
    }
}
