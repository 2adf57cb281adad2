using System.Diagnostics;
using System.Globalization;
using AppService.Data;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace AppService.Benchmarks;

/// <summary>
/// Goal 3's big state, loaded with binary COPY (never through the service): <c>processed_events</c> rows spread over
/// the last 60 days (so with the default 30-day retention about half are prunable), one <c>txn_ledger</c> row per 100
/// of them, and member rows in rooms of 100 members (no <c>room_state</c> rows for them: the service stores member
/// events once, in <c>room_members</c>). The schema comes from the service's own migrations. Indexes are dropped
/// before the COPY and rebuilt after it (a sorted build instead of millions of random B-tree inserts), then the tables
/// are vacuumed and analysed as a long-running database would be.
/// </summary>
internal sealed class BigLoader(BigLoadOptions o, TextWriter output)
{
    private static readonly string[] Tables = ["processed_events", "txn_ledger", "room_members", "room_state", "rooms"];

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        await using (var db = new AppDbContext(new DbContextOptionsBuilder<AppDbContext>().UseNpgsql(o.ConnectionString).Options))
        {
            await db.Database.MigrateAsync(ct);
        }

        await using var source = NpgsqlDataSource.Create(o.ConnectionString);
        await using var connection = await source.OpenConnectionAsync(ct);
        await ExecuteAsync(connection, "SET synchronous_commit = off", ct); // a loader: durability of the load is not measured
        foreach (string table in Tables)
        {
            if (await ScalarAsync<bool>(connection, $"SELECT EXISTS (SELECT 1 FROM {table})", ct))
            {
                throw new ArgumentException($"{table} is not empty: load-big fills a fresh database");
            }
        }

        var rebuild = await DropIndexesAsync(connection, ct);
        var now = DateTime.UtcNow;
        var random = new Random(o.Seed);
        int rooms = Math.Max(1, (o.Members + 99) / 100);

        await CopyAsync(connection, "rooms (room_id, bot_membership, updated_at, suspect)", rooms, async (w, i) =>
        {
            await w.WriteAsync(RoomId(i), NpgsqlDbType.Text, ct);
            await w.WriteAsync("join", NpgsqlDbType.Text, ct);
            await w.WriteAsync(now, NpgsqlDbType.TimestampTz, ct);
            await w.WriteAsync(false, NpgsqlDbType.Boolean, ct);
        }, ct);

        var memberEventIds = new string[o.Members];
        for (int i = 0; i < o.Members; i++)
        {
            memberEventIds[i] = EventId(random);
        }

        await CopyAsync(connection, "room_members (room_id, user_id, membership, displayname, avatar_url, event_id, sender, updated_at)", o.Members, async (w, i) =>
        {
            string user = UserId(i);
            await w.WriteAsync(RoomId(i % rooms), NpgsqlDbType.Text, ct);
            await w.WriteAsync(user, NpgsqlDbType.Text, ct);
            await w.WriteAsync("join", NpgsqlDbType.Text, ct);
            await w.WriteAsync($"User {i}", NpgsqlDbType.Text, ct);
            await w.WriteNullAsync(ct);
            await w.WriteAsync(memberEventIds[i], NpgsqlDbType.Text, ct);
            await w.WriteAsync(user, NpgsqlDbType.Text, ct);
            await w.WriteAsync(now, NpgsqlDbType.TimestampTz, ct);
        }, ct);

        // Oldest first, 60 days back to 1 day ago, as the service would have written them.
        var oldest = now.AddDays(-60);
        double step = TimeSpan.FromDays(59).Ticks / (double)Math.Max(1, o.ProcessedEvents);
        DateTime At(long i) => oldest.AddTicks((long)(i * step));
        await CopyAsync(connection, "processed_events (event_id, room_id, event_type, txn_id, processed_at)", o.ProcessedEvents, async (w, i) =>
        {
            await w.WriteAsync(EventId(random), NpgsqlDbType.Text, ct);
            await w.WriteAsync(RoomId((int)(i % rooms)), NpgsqlDbType.Text, ct);
            await w.WriteAsync(i % 2 == 0 ? "m.room.message" : "m.room.member", NpgsqlDbType.Text, ct);
            await w.WriteAsync(TxnId(i / 100), NpgsqlDbType.Text, ct);
            await w.WriteAsync(At(i), NpgsqlDbType.TimestampTz, ct);
        }, ct);

        var hash = new byte[32];
        await CopyAsync(connection, "txn_ledger (txn_id, content_hash, event_count, new_event_count, rejected_count, first_seen_at, last_processed_at)",
            (o.ProcessedEvents + 99) / 100, async (w, i) =>
            {
                random.NextBytes(hash);
                await w.WriteAsync(TxnId(i), NpgsqlDbType.Text, ct);
                await w.WriteAsync(hash, NpgsqlDbType.Bytea, ct);
                await w.WriteAsync(100, NpgsqlDbType.Integer, ct);
                await w.WriteAsync(100, NpgsqlDbType.Integer, ct);
                await w.WriteAsync(0, NpgsqlDbType.Integer, ct);
                await w.WriteAsync(At(i * 100), NpgsqlDbType.TimestampTz, ct);
                await w.WriteAsync(At(i * 100), NpgsqlDbType.TimestampTz, ct);
            }, ct);

        var indexes = Stopwatch.StartNew();
        foreach (string sql in rebuild)
        {
            await ExecuteAsync(connection, sql, ct);
        }

        output.WriteLine($"load-big: {rebuild.Count} indexes and keys rebuilt in {indexes.Elapsed.TotalSeconds:0} s");
        foreach (string table in Tables)
        {
            await ExecuteAsync(connection, $"VACUUM (ANALYZE) {table}", ct);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"load-big: {o.ProcessedEvents:N0} processed_events, {(o.ProcessedEvents + 99) / 100:N0} txn_ledger, {o.Members:N0} room_members in {rooms:N0} rooms; {total.Elapsed.TotalSeconds:0} s"));
        return 0;
    }

    /// <summary>Drops the indexes and primary keys of the loaded tables; returns the statements that rebuild them.</summary>
    private static async Task<List<string>> DropIndexesAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        var rebuild = new List<string>();
        var drop = new List<string>();
        await using (var command = new NpgsqlCommand("""
            SELECT c.relname, i.relname, con.conname, pg_get_indexdef(i.oid), pg_get_constraintdef(con.oid)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class c ON c.oid = x.indrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
            LEFT JOIN pg_constraint con ON con.conindid = i.oid AND con.contype IN ('p', 'u')
            WHERE c.relname = ANY($1)
            """, connection))
        {
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = Tables });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                string table = reader.GetString(0);
                if (reader.IsDBNull(2))
                {
                    drop.Add($"DROP INDEX \"{reader.GetString(1)}\"");
                    rebuild.Add(reader.GetString(3));
                }
                else
                {
                    drop.Add($"ALTER TABLE {table} DROP CONSTRAINT \"{reader.GetString(2)}\"");
                    rebuild.Add($"ALTER TABLE {table} ADD CONSTRAINT \"{reader.GetString(2)}\" {reader.GetString(4)}");
                }
            }
        }

        foreach (string sql in drop)
        {
            await ExecuteAsync(connection, sql, ct);
        }

        // Keys first: the other indexes may be built in any order after them.
        return [.. rebuild.OrderBy(s => s.StartsWith("ALTER", StringComparison.Ordinal) ? 0 : 1)];
    }

    private async Task CopyAsync(NpgsqlConnection connection, string target, long rows, Func<NpgsqlBinaryImporter, long, Task> writeRow, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        await using (var importer = await connection.BeginBinaryImportAsync($"COPY {target} FROM STDIN (FORMAT BINARY)", ct))
        {
            for (long i = 0; i < rows; i++)
            {
                await importer.StartRowAsync(ct);
                await writeRow(importer, i);
            }

            await importer.CompleteAsync(ct);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load-big: {rows:N0} rows into {target[..target.IndexOf(' ', StringComparison.Ordinal)]} in {watch.Elapsed.TotalSeconds:0.0} s"));
    }

    private static string RoomId(long i) => $"!bigroom{i:D8}:example.org";

    private static string UserId(long i) => $"@biguser{i}:example.org";

    private static string TxnId(long i) => $"big-{i}";

    /// <summary>A room-v4 style id ('$' + 43 base64url characters), random so the primary key is not append-only.</summary>
    private static string EventId(Random random)
    {
        Span<byte> bytes = stackalloc byte[32];
        random.NextBytes(bytes);
        return "$" + Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(ct))!;
    }
}

internal sealed record BigLoadOptions(string ConnectionString, long ProcessedEvents, int Members, int Seed)
{
    public static BigLoadOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }

        return new BigLoadOptions(
            values.TryGetValue("connection", out var cs) ? cs : throw new ArgumentException("--connection is required"),
            long.Parse(values.GetValueOrDefault("processed-events", "10000000"), CultureInfo.InvariantCulture),
            int.Parse(values.GetValueOrDefault("members", "1000000"), CultureInfo.InvariantCulture),
            int.Parse(values.GetValueOrDefault("seed", "1"), CultureInfo.InvariantCulture));
    }
}
