using Npgsql;

namespace AppService.Benchmarks.Live;

/// <summary>
/// Sequential scans of the hot-path tables in one service's database (pg_stat_user_tables.seq_scan), read before a
/// phase's first timed round and after its last (issue 19: a prepared statement whose generic plan was made while a
/// table was one page read that table, by then 522 pages, by sequential scan 81,304 times). A scan of a table larger
/// than <c>--seqscan-min-pages</c> (512 pages, 4 MB, by default) fails the run: there the index probes for a
/// transaction's keys (at most 100) cost the planner less than reading the table, and only a plan made on stale
/// statistics reads it whole. Scans of smaller tables are reported, not failed: a plan made for the parameters at hand
/// reads them whole by choice (the benchmark's <c>rooms</c> is a few dozen rows; <c>SelectMembers</c>' 45 keys hash-join
/// a 74-page <c>room_members</c> cheaper than 45 probes: docs/benchmarks.md). <c>--seqscan-min-pages 0</c> fails any.
/// </summary>
internal static class SeqScanProbe
{
    /// <summary>The tables every ingest touches (change_log only where the change feed exists).</summary>
    public static readonly string[] HotTables =
        ["processed_events", "room_state", "room_members", "rooms", "txn_ledger", "pending_redactions", "change_log"];

    /// <summary>
    /// PostgreSQL 15 backends flush their table counters at most once a second while busy and after 10 s of idleness
    /// (PGSTAT_IDLE_INTERVAL): the second read waits that long so the last round's scans are in it.
    /// </summary>
    public static readonly TimeSpan FlushWait = TimeSpan.FromSeconds(11);

    /// <summary>Per hot table: sequential scans so far and its size in 8 kB pages now.</summary>
    public static async Task<Dictionary<string, (long Scans, long Pages)>> ReadAsync(string connectionString, string database, CancellationToken ct)
    {
        var cs = new NpgsqlConnectionStringBuilder(connectionString) { Database = database, Pooling = false };
        await using var connection = new NpgsqlConnection(cs.ConnectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            "SELECT relname, coalesce(seq_scan, 0), pg_relation_size(relid) / 8192 FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = ANY(@tables)", connection);
        command.Parameters.AddWithValue("tables", HotTables);
        var counts = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            counts[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2));
        }

        return counts;
    }

    /// <summary>Scans during the rounds and the table's size after them.</summary>
    public static Dictionary<string, SeqScans> Delta(Dictionary<string, (long Scans, long Pages)> before, Dictionary<string, (long Scans, long Pages)> after, int minPages) =>
        after.ToDictionary(kv => kv.Key, kv => new SeqScans(kv.Value.Scans - before.GetValueOrDefault(kv.Key).Scans, kv.Value.Pages,
            kv.Value.Scans - before.GetValueOrDefault(kv.Key).Scans > 0 && kv.Value.Pages > minPages), StringComparer.Ordinal);

    public static bool AnyFailed(IReadOnlyDictionary<string, SeqScans> scans) => scans.Values.Any(s => s.Failed);

    /// <summary>"none" or "room_state 812 (522 pages) FAILED, rooms 3 (2 pages)" (only the tables that were scanned).</summary>
    public static string Describe(IReadOnlyDictionary<string, SeqScans> scans)
    {
        var scanned = scans.Where(kv => kv.Value.Scans != 0).OrderByDescending(kv => kv.Value.Scans)
            .Select(kv => $"{kv.Key} {kv.Value.Scans:N0} ({kv.Value.Pages:N0} pages){(kv.Value.Failed ? " FAILED" : "")}").ToList();
        return scanned.Count == 0 ? "none" : string.Join(", ", scanned);
    }
}

/// <summary>One hot table's sequential scans during a phase's timed rounds, its size after them, and the verdict.</summary>
internal sealed record SeqScans(long Scans, long Pages, bool Failed);
