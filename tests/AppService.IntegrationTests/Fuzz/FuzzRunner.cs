using System.Globalization;
using System.Text;
using System.Text.Json;
using AppService.IntegrationTests.Infrastructure;
using Npgsql;

namespace AppService.IntegrationTests.Fuzz;

/// <summary>
/// Sends hostile bodies one by one, each followed by a fixed-shape valid transaction with fresh event ids, and checks
/// the properties of issue 8: (a) the answer follows <see cref="BodyContract"/> and no answer is 5xx; (b) the valid
/// transaction after every hostile body is 200 and applied; (c) at the end every acknowledged event is where the
/// contract puts it, and nothing of a refused body was applied; (d) at the end the ledger holds a row for every
/// acknowledged transaction and none for a refused one, and each row counts exactly the events stored under it.
/// </summary>
public sealed class FuzzRunner(HttpClient client, string connectionString, long maxBytes, Func<byte[], Random, HttpContent>? content = null)
{
    private const int CheckEvery = 250;
    private const int MaxListedViolations = 40;

    private readonly Func<byte[], Random, HttpContent> _content = content ?? ((bytes, _) => AppServiceApplication.JsonBytes(bytes));
    private readonly Random _chunking = new(8);
    private readonly List<ExpectedEvent> _expected = [];
    private readonly List<string> _valid = [];
    private readonly List<string> _acknowledgedTxns = [];
    private readonly List<string> _validTxns = [];
    private readonly List<string> _refusedTxns = [];
    private readonly List<string> _pendingValid = [];
    private readonly List<string> _violations = [];
    private readonly SortedDictionary<string, int> _categories = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, int[]> _byKind = new(StringComparer.Ordinal);
    private readonly string _runId = Guid.NewGuid().ToString("N")[..8];

    private readonly object _gate = new();
    private int _tried;
    private int _lastCheckpoint;

    public int Tried => _tried;

    public int Answered2xx { get; private set; }

    public int Answered4xx { get; private set; }

    public int Answered5xx { get; private set; }

    /// <summary>Hostile bodies after which the valid transaction was not answered 200.</summary>
    public int Stalls { get; private set; }

    public int ViolationCount { get; private set; }

    public IReadOnlyList<string> Violations => _violations;

    /// <summary>
    /// Sends the bodies concurrently (each followed by its own valid transaction, so a shared connection pool is
    /// exercised too), then, every few hundred bodies, checks that the acknowledged valid events are stored.
    /// Returns the violations they showed (empty: none).
    /// </summary>
    public async Task<List<string>> RunAsync(IReadOnlyList<(HostileBody Body, string Label)> group)
    {
        var found = (await Task.WhenAll(group.Select(g => RunOneAsync(g.Body, g.Label)))).SelectMany(f => f).ToList();
        if (Tried - _lastCheckpoint >= CheckEvery)
        {
            _lastCheckpoint = Tried;
            List<string> pending;
            lock (_gate)
            {
                pending = [.. _pendingValid];
                _pendingValid.Clear();
            }

            long applied = await CountProcessedAsync(pending);
            if (applied != pending.Count)
            {
                string violation = $"only {applied} of the {pending.Count} acknowledged valid events of the last {CheckEvery} bodies are in processed_events";
                lock (_gate)
                {
                    Record(violation);
                }

                found.Add(violation);
            }
        }

        return found;
    }

    private async Task<List<string>> RunOneAsync(HostileBody body, string caseLabel)
    {
        var found = new List<string>();
        int n = Interlocked.Increment(ref _tried);
        var expected = BodyContract.Expected(body.Bytes, maxBytes);
        HttpContent hostile;
        lock (_gate)
        {
            hostile = _content(body.Bytes, _chunking);
        }

        string hostileTxn = $"fz-{_runId}-{n}", validTxn = $"fzv-{_runId}-{n}";
        var (status, text) = await PutAsync(hostileTxn, hostile);
        if (!BodyContract.Allows(expected, status))
        {
            found.Add($"answered {status}, contract {expected}: {Short(text)}");
        }

        if (status != 200 && !IsMatrixError(text))
        {
            found.Add($"answered {status} without a Matrix error body: {Short(text)}");
        }

        var (validStatus, validText) = await PutAsync(validTxn, AppServiceApplication.JsonBytes(ValidTransaction(n, out var ids)));
        if (validStatus != 200)
        {
            found.Add($"the valid transaction after it was answered {validStatus}: {Short(validText)}");
        }

        lock (_gate)
        {
            string kind = body.Kind.Split(' ')[0];
            if (!_byKind.TryGetValue(kind, out var counts))
            {
                _byKind[kind] = counts = new int[4];
            }

            counts[0]++;
            switch (status)
            {
                case >= 200 and < 300: Answered2xx++; counts[1]++; break;
                case >= 400 and < 500: Answered4xx++; counts[2]++; break;
                default: Answered5xx++; counts[3]++; break;
            }

            (status == 200 ? _acknowledgedTxns : _refusedTxns).Add(hostileTxn);
            if (validStatus == 200)
            {
                _validTxns.Add(validTxn);
            }

            // A refused (or failed) body: nothing of it may have been applied.
            _expected.AddRange(body.Events.Select(e => e with { Outcome = status == 200 ? e.Outcome : Outcome.Absent, Kind = kind }));
            if (validStatus != 200)
            {
                Stalls++;
            }
            else
            {
                _valid.AddRange(ids);
                _pendingValid.AddRange(ids);
            }

            foreach (string violation in found)
            {
                Record($"#{n} {caseLabel} {body}: {violation}", $"{kind}: {Category(violation)}");
            }
        }

        return found;
    }

    /// <summary>What a violation says, without the ids and bodies (for the counts by kind).</summary>
    private static string Category(string violation)
    {
        int colon = violation.IndexOf(':', StringComparison.Ordinal);
        string head = colon > 0 ? violation[..colon] : violation;
        return System.Text.RegularExpressions.Regex.Replace(head, @"\$\S+|processed=\S+", m => m.Value.StartsWith('$') ? "$id" : m.Value);
    }

    private void Record(string violation, string? category = null)
    {
        category ??= Category(violation);
        _categories[category] = _categories.GetValueOrDefault(category) + 1;
        ViolationCount++;
        if (_violations.Count < MaxListedViolations)
        {
            _violations.Add(violation);
        }
    }

    /// <summary>Property (c), in bulk: every tracked event id against processed_events and rejected_events.</summary>
    public async Task FinalCheckAsync()
    {
        var processed = await IdsAsync("SELECT event_id FROM processed_events");
        var rejected = await IdsAsync("SELECT event_id FROM rejected_events WHERE event_id IS NOT NULL");
        foreach (string id in _valid.Where(id => !processed.Contains(id)))
        {
            Record($"acknowledged valid event {id} is not in processed_events");
        }

        var tally = new int[4];
        foreach (var e in _expected)
        {
            bool p = processed.Contains(e.EventId), r = rejected.Contains(e.EventId);
            string? wrong = e.Outcome switch
            {
                Outcome.Applied when !p || r => $"applied event {e.EventId}: processed={p} rejected={r}",
                Outcome.Rejected when p || !r => $"rejected event {e.EventId}: processed={p} rejected={r}",
                Outcome.Either when p == r => $"event {e.EventId} must be in exactly one of processed/rejected: processed={p} rejected={r}",
                Outcome.Absent when p => $"event {Short(e.EventId)} must not be applied",
                _ => null,
            };
            tally[(int)e.Outcome]++;
            if (wrong is not null)
            {
                Record("final check: " + wrong, $"{e.Kind}: final check, expected {e.Outcome}, processed={p} rejected={r}");
            }
        }

        Tallies = $"events checked at the end: {tally[0]} applied, {tally[1]} rejected, {tally[2]} either, {tally[3]} absent; {_valid.Count} valid-neighbour events";
        await CheckLedgerAsync();
    }

    /// <summary>Property (d): the ledger against the answers and against the rows stored under each transaction.</summary>
    private async Task CheckLedgerAsync()
    {
        var ledger = new Dictionary<string, (int Events, int New, int Rejected, long Processed, long Stored)>(StringComparer.Ordinal);
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                """
                WITH p AS (SELECT txn_id, count(*) AS n FROM processed_events WHERE txn_id LIKE $1 GROUP BY txn_id),
                     r AS (SELECT txn_id, count(*) AS n FROM rejected_events WHERE txn_id LIKE $1 GROUP BY txn_id)
                SELECT l.txn_id, l.event_count, l.new_event_count, l.rejected_count, coalesce(p.n, 0), coalesce(r.n, 0)
                FROM txn_ledger l LEFT JOIN p USING (txn_id) LEFT JOIN r USING (txn_id)
                WHERE l.txn_id LIKE $1
                """, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = $"fz%-{_runId}-%" });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                ledger[reader.GetString(0)] = (reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt64(4), reader.GetInt64(5));
            }
        }

        foreach (string txn in _refusedTxns.Where(ledger.ContainsKey))
        {
            Record($"ledger: refused transaction {txn} has a ledger row", "ledger: refused transaction recorded");
        }

        foreach (string txn in _acknowledgedTxns.Concat(_validTxns))
        {
            if (!ledger.TryGetValue(txn, out var row))
            {
                Record($"ledger: acknowledged transaction {txn} has no ledger row", "ledger: acknowledged transaction missing");
            }
            else if (row.New != row.Processed || row.Rejected != row.Stored)
            {
                Record($"ledger: {txn} counts {row.New} new and {row.Rejected} rejected events, {row.Processed} processed and {row.Stored} rejected rows are stored under it",
                    "ledger: counts differ from the rows stored");
            }
        }

        foreach (string txn in _validTxns)
        {
            if (ledger.TryGetValue(txn, out var row) && (row.Events, row.New, row.Rejected) != (2, 2, 0))
            {
                Record($"ledger: valid transaction {txn} recorded as {row.Events} events, {row.New} new, {row.Rejected} rejected", "ledger: valid transaction miscounted");
            }
        }

        LedgerTally = $"ledger checked at the end: {_acknowledgedTxns.Count + _validTxns.Count} acknowledged transactions, {_refusedTxns.Count} refused";
    }

    public string LedgerTally { get; private set; } = "";

    public string Tallies { get; private set; } = "";

    public string Summary()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"bodies tried {Tried}: 2xx {Answered2xx}, 4xx {Answered4xx}, 5xx {Answered5xx}; stalls {Stalls}; violations {ViolationCount}");
        sb.AppendLine(Tallies);
        sb.AppendLine(LedgerTally);
        foreach (var (kind, c) in _byKind)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {kind,-18} {c[0],6} bodies: 2xx {c[1],6}  4xx {c[2],6}  5xx {c[3],6}");
        }

        foreach (var (category, count) in _categories)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {count,6} x {category}");
        }

        foreach (string v in _violations)
        {
            sb.AppendLine("  " + v);
        }

        return sb.ToString();
    }

    private async Task<(int Status, string Text)> PutAsync(string txnId, HttpContent body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, AppServiceApplication.TransactionPath(txnId)) { Content = body };
        if (body.Headers.ContentLength is null)
        {
            request.Headers.TransferEncodingChunked = true;
        }

        try
        {
            using var response = await client.SendAsync(request);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (HttpRequestException ex)
        {
            // The server closed the connection without an answer: as bad as a 5xx for the homeserver.
            return (599, "no answer: " + ex.Message);
        }
    }

    private static byte[] ValidTransaction(int n, out string[] ids)
    {
        string room = $"!valid{n % 20}:test";
        string user = $"@v{n}:test";
        ids = [HostileBodies.FreshId("$ok"), HostileBodies.FreshId("$ok")];
        return Encoding.UTF8.GetBytes(RawEvents.Body(
            RawEvents.Event(ids[0], room, "m.room.member", user, $"{{\"membership\":\"join\",\"displayname\":\"V {n}\"}}", user, ts: n),
            RawEvents.Event(ids[1], room, "m.room.message", null, "{\"msgtype\":\"m.text\",\"body\":\"still flowing\"}", user, ts: n)));
    }

    private static bool IsMatrixError(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("errcode", out var code)
                && code.ValueKind == JsonValueKind.String;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Short(string text) => text.Length > 200 ? text[..200] + "…" : text;

    private async Task<long> CountProcessedAsync(List<string> ids)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM processed_events WHERE event_id = ANY($1)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray() });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<HashSet<string>> IdsAsync(string sql)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }
}
