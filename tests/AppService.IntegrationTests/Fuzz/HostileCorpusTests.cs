using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Npgsql;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Fuzz;

/// <summary>
/// The reproducers of issue 8, one per case, against the contract agreed for the fix: a body that is UTF-8 JSON with
/// an <c>events</c> array is answered 200; a good event next to a bad one is applied; ids and keys holding U+0000 or
/// a lone surrogate make their event rejected; display values are stored with U+0000 removed and lone surrogates
/// replaced by U+FFFD; content nested deeper than 1024 levels is rejected; rejected events keep a reason_code and
/// their raw JSON as text. Bodies are sent as the exact bytes written here, over real Kestrel.
/// </summary>
public sealed class HostileCorpusTests(KestrelFuzzApplication app) : IClassFixture<KestrelFuzzApplication>
{
    private const string Alice = "@alice:test";

    // ---- helpers -------------------------------------------------------------------------------------------------

    /// <summary>A ClientEvent as raw JSON; every argument is already JSON string content (escapes are kept as written).</summary>
    private static string Ev(string id, string room, string type, string? stateKey, string content, string sender = Alice, string? unsignedJson = null) =>
        "{\"event_id\":\"" + id + "\",\"room_id\":\"" + room + "\",\"type\":\"" + type + "\",\"sender\":\"" + sender + "\""
        + (stateKey is null ? "" : ",\"state_key\":\"" + stateKey + "\"")
        + ",\"origin_server_ts\":1795000000000,\"content\":" + content
        + (unsignedJson is null ? "" : ",\"unsigned\":" + unsignedJson) + "}";

    private static string Txn(params string[] events) => "{\"events\":[" + string.Join(',', events) + "]}";

    /// <summary>A good event for the same room: must be applied whatever its neighbour holds.</summary>
    private static (string Id, string Json) Neighbour(string room)
    {
        string id = NewEventId();
        return (id, Ev(id, room, "m.room.member", "@neighbour:test", "{\"membership\":\"join\",\"displayname\":\"Good\"}", "@neighbour:test"));
    }

    private async Task<(HttpStatusCode Status, string Text)> PutAsync(string txnId, byte[] body)
    {
        using var client = app.Homeserver();
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await client.PutAsync($"/_matrix/app/v1/transactions/{Uri.EscapeDataString(txnId)}", content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private Task<(HttpStatusCode Status, string Text)> PutAsync(string txnId, string json) => PutAsync(txnId, Encoding.UTF8.GetBytes(json));

    private async Task PutOkAsync(string txnId, string json)
    {
        var (status, text) = await PutAsync(txnId, json);
        Assert.True(status == HttpStatusCode.OK, $"{(int)status} {text}");
    }

    private static string ErrCode(string text) =>
        JsonDocument.Parse(text).RootElement.TryGetProperty("errcode", out var e) ? e.GetString()! : "(no errcode) " + text;

    private async Task<T?> QueryAsync<T>(string sql, params object[] args)
    {
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (object arg in args)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = arg });
        }

        object? value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)value;
    }

    private async Task<bool> ProcessedAsync(string eventId) =>
        await QueryAsync<long>("SELECT count(*) FROM processed_events WHERE event_id = $1", eventId) == 1;

    private async Task<bool> RejectedAsync(string eventId) =>
        await QueryAsync<long>("SELECT count(*) FROM rejected_events WHERE event_id = $1", eventId) == 1;

    private async Task AssertAppliedAsync(string eventId)
    {
        Assert.True(await ProcessedAsync(eventId), $"{eventId} is not in processed_events");
        Assert.False(await RejectedAsync(eventId), $"{eventId} is in rejected_events");
    }

    private async Task AssertRejectedAsync(string eventId)
    {
        Assert.True(await RejectedAsync(eventId), $"{eventId} is not in rejected_events");
        Assert.False(await ProcessedAsync(eventId), $"{eventId} is in processed_events");
    }

    private Task<long> RejectedInTxnAsync(string txnId) => QueryAsync<long>("SELECT count(*) FROM rejected_events WHERE txn_id = $1", txnId);

    private Task<string?> DisplaynameAsync(string room, string user) =>
        QueryAsync<string>("SELECT displayname FROM room_members WHERE room_id = $1 AND user_id = $2", room, user);

    private static string Room() => NewRoomId();

    private static string Txn() => "corpus-" + Guid.NewGuid().ToString("N")[..12];

    // ---- 1. U+0000 and lone surrogates in ids and keys: the event is rejected, its neighbour applied --------------

    public static TheoryData<string, string> PoisonedIds()
    {
        var data = new TheoryData<string, string>();
        foreach (string field in new[] { "event_id", "room_id", "type", "state_key", "sender", "membership", "redacts", "replaces_state" })
        {
            foreach (string escape in new[] { "\\u0000", "\\ud800", "\\udc00" })
            {
                data.Add(field, escape);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PoisonedIds))]
    public async Task An_id_or_key_with_NUL_or_a_lone_surrogate_rejects_its_event_and_the_neighbour_is_applied(string field, string escape)
    {
        string room = Room(), txn = Txn(), id = NewEventId();
        var neighbour = Neighbour(room);
        string P(string value, string name) => name == field ? value[..2] + escape + value[2..] : value;
        string bad = field == "redacts"
            ? Ev(P(id, "event_id"), room, "m.room.redaction", null, "{\"redacts\":\"" + P(neighbour.Id, "redacts") + "\"}")
                .Replace("\"content\"", "\"redacts\":\"" + P(neighbour.Id, "redacts") + "\",\"content\"", StringComparison.Ordinal)
            : Ev(P(id, "event_id"), P(room, "room_id"), P("m.room.member", "type"), P("@eve:test", "state_key"),
                "{\"membership\":\"" + P("join", "membership") + "\",\"displayname\":\"Eve\"}", P("@eve:test", "sender"),
                "{\"replaces_state\":\"" + P(NewEventId(), "replaces_state") + "\"}");

        await PutOkAsync(txn, Txn(neighbour.Json, bad));

        await AssertAppliedAsync(neighbour.Id);
        Assert.Equal("Good", await DisplaynameAsync(room, "@neighbour:test"));
        Assert.Equal(1, await RejectedInTxnAsync(txn));
        if (field != "event_id")
        {
            await AssertRejectedAsync(id);
        }

        Assert.False(await ProcessedAsync(id));
        Assert.Null(await DisplaynameAsync(room, "@eve:test"));
    }

    // ---- 2. Display values: stored with U+0000 removed and lone surrogates replaced by U+FFFD -------------------

    [Theory]
    [InlineData("m.room.member", "@eve:test", "displayname", "Eve\\u0000", "Eve")]
    [InlineData("m.room.member", "@eve:test", "displayname", "\\u0000Ev\\u0000e", "Eve")]
    [InlineData("m.room.member", "@eve:test", "displayname", "Eve\\ud800", "Eve\uFFFD")]
    [InlineData("m.room.member", "@eve:test", "displayname", "\\udc00Eve", "\uFFFDEve")]
    [InlineData("m.room.member", "@eve:test", "displayname", "Eve \\ud83d\\ude00", "Eve \ud83d\ude00")]
    [InlineData("m.room.member", "@eve:test", "avatar_url", "mxc://test/e\\u0000ve", "mxc://test/eve")]
    [InlineData("m.room.name", "", "name", "Na\\u0000me", "Name")]
    [InlineData("m.room.name", "", "name", "Na\\udc00me", "Na\uFFFDme")]
    [InlineData("m.room.topic", "", "topic", "To\\u0000pic\\ud800", "Topic\uFFFD")]
    public async Task A_display_value_with_NUL_or_a_lone_surrogate_is_stored_sanitised(string type, string stateKey, string key, string raw, string stored)
    {
        string room = Room(), txn = Txn(), id = NewEventId();
        var neighbour = Neighbour(room);
        string content = type == "m.room.member"
            ? "{\"membership\":\"join\",\"" + key + "\":\"" + raw + "\"}"
            : "{\"" + key + "\":\"" + raw + "\"}";
        await PutOkAsync(txn, Txn(Ev(id, room, type, stateKey, content, type == "m.room.member" ? "@eve:test" : Alice), neighbour.Json));

        await AssertAppliedAsync(id);
        await AssertAppliedAsync(neighbour.Id);
        string? actual = key switch
        {
            "displayname" => await DisplaynameAsync(room, "@eve:test"),
            "avatar_url" => await QueryAsync<string>("SELECT avatar_url FROM room_members WHERE room_id = $1 AND user_id = '@eve:test'", room),
            "name" => await QueryAsync<string>("SELECT name FROM rooms WHERE room_id = $1", room),
            _ => await QueryAsync<string>("SELECT topic FROM rooms WHERE room_id = $1", room),
        };
        Assert.Equal(stored, actual);
    }

    // ---- 3. Other projected strings (the list): rejected or stored without NUL -------------------------

    [Theory]
    [InlineData("m.room.canonical_alias", "{\"alias\":\"#a\\u0000:test\"}", "canonical_alias")]
    [InlineData("m.room.avatar", "{\"url\":\"mxc://test/\\u0000a\"}", "avatar_url")]
    [InlineData("m.room.join_rules", "{\"join_rule\":\"pub\\u0000lic\"}", "join_rule")]
    [InlineData("m.room.history_visibility", "{\"history_visibility\":\"shared\\u0000\"}", "history_visibility")]
    [InlineData("m.room.encryption", "{\"algorithm\":\"m.megolm.v1\\u0000\"}", "encryption")]
    [InlineData("m.room.tombstone", "{\"replacement_room\":\"!new\\u0000:test\",\"body\":\"moved\"}", "tombstone_successor")]
    [InlineData("m.room.create", "{\"creator\":\"@a\\u0000:test\",\"room_version\":\"9\"}", "creator")]
    [InlineData("m.room.create", "{\"room_version\":\"1\\u00000\"}", "room_version")]
    [InlineData("m.room.create", "{\"room_version\":\"10\",\"predecessor\":{\"room_id\":\"!old\\u0000:test\",\"event_id\":\"$e\"}}", "predecessor_room_id")]
    [InlineData("m.room.join_rules", "{\"join_rule\":\"public\\ud800\"}", "join_rule")]
    public async Task Another_projected_string_with_NUL_is_rejected_or_stored_without_it(string type, string content, string column)
    {
        string room = Room(), txn = Txn(), id = NewEventId();
        var neighbour = Neighbour(room);
        await PutOkAsync(txn, Txn(neighbour.Json, Ev(id, room, type, "", content)));

        await AssertAppliedAsync(neighbour.Id);
        bool applied = await ProcessedAsync(id);
        Assert.NotEqual(applied, await RejectedAsync(id));
        string? stored = await QueryAsync<string>($"SELECT {column} FROM rooms WHERE room_id = $1", room);
        Assert.False(stored is not null && (stored.Contains('\0', StringComparison.Ordinal) || HasLoneSurrogate(stored)), $"stored {column} {stored}");
    }

    private static bool HasLoneSurrogate(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                return true;
            }
        }

        return false;
    }

    [Fact]
    public async Task Invite_room_state_with_NUL_and_a_lone_surrogate_does_not_stop_the_invite()
    {
        string room = Room(), txn = Txn(), id = NewEventId();
        string stripped = "[{\"type\":\"m.room.name\",\"state_key\":\"\",\"sender\":\"@a:test\",\"content\":{\"name\":\"In\\u0000vite\"}},"
            + "{\"type\":\"m.room.topic\",\"state_key\":\"\",\"sender\":\"@a:test\",\"content\":{\"topic\":\"T\\ud800\"}},"
            + "{\"type\":\"m.room.join_rules\",\"state_key\":\"\\u0000\",\"sender\":\"@a\\udc00:test\",\"content\":{\"join_rule\":\"invite\"}}]";
        var neighbour = Neighbour(room);
        await PutOkAsync(txn, Txn(Ev(id, room, "m.room.member", AppServiceApplicationBot, "{\"membership\":\"invite\"}", Alice, "{\"invite_room_state\":" + stripped + "}"), neighbour.Json));

        await AssertAppliedAsync(id);
        await AssertAppliedAsync(neighbour.Id);
        Assert.Equal("invite", await QueryAsync<string>("SELECT bot_membership FROM rooms WHERE room_id = $1", room));
        string? name = await QueryAsync<string>("SELECT name FROM rooms WHERE room_id = $1", room);
        Assert.True(name is null or "Invite", $"name {name}");
        string? topic = await QueryAsync<string>("SELECT topic FROM rooms WHERE room_id = $1", room);
        Assert.True(topic is null or "T\uFFFD", $"topic {topic}");
    }

    private const string AppServiceApplicationBot = Infrastructure.AppServiceApplication.BotUserId;

    // ---- 4. Rejected events whose raw JSON PostgreSQL's jsonb cannot hold are still stored ----------------------

    [Theory]
    [InlineData("{\"body\":\"a\\u0000b\"}")]
    [InlineData("{\"body\":\"a\\ud800b\"}")]
    [InlineData("{\"n\":1e999999}")]
    [InlineData("{\"n\":-1e-999999,\"m\":123456789012345678901234567890}")]
    [InlineData("{\"k\\u0000\":\"\\udc00\"}")]
    public async Task A_rejected_event_whose_json_jsonb_refuses_is_stored_and_the_transaction_acknowledged(string content)
    {
        string room = Room(), txn = Txn(), id = NewEventId();
        var neighbour = Neighbour(room);
        // No 'type': rejected for a missing field; its raw JSON holds what jsonb cannot.
        string bad = "{\"event_id\":\"" + id + "\",\"room_id\":\"" + room + "\",\"sender\":\"@a:test\",\"content\":" + content + "}";
        await PutOkAsync(txn, Txn(bad, neighbour.Json));

        await AssertRejectedAsync(id);
        await AssertAppliedAsync(neighbour.Id);
        Assert.Equal(bad, await QueryAsync<string>("SELECT content::text FROM rejected_events WHERE event_id = $1", id));
    }

    [Theory]
    [InlineData(300)]
    [InlineData(3 * 1024)]
    [InlineData(70 * 1024)]
    public async Task An_overlong_event_id_is_rejected_and_stored_without_breaking_the_index(int bytes)
    {
        string room = Room(), txn = Txn();
        // Random base64: PostgreSQL's pglz cannot compress it, so the index row really is that long.
        string id = ("$" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(bytes)))[..bytes];
        var neighbour = Neighbour(room);
        await PutOkAsync(txn, Txn(Ev(id, room, "m.room.message", null, "{\"body\":\"long id\"}"), neighbour.Json));

        await AssertAppliedAsync(neighbour.Id);
        Assert.False(await ProcessedAsync(id));
        Assert.Equal(1, await RejectedInTxnAsync(txn));

        // Sent again (as a homeserver retry would): acknowledged, still one rejection.
        await PutOkAsync(txn, Txn(Ev(id, room, "m.room.message", null, "{\"body\":\"long id\"}"), neighbour.Json));
        Assert.Equal(1, await RejectedInTxnAsync(txn));
    }

    [Fact]
    public async Task Rejected_events_keep_a_reason_code_and_their_raw_json_as_text()
    {
        string room = Room(), txn = Txn();
        string missing = NewEventId(), wrongType = NewEventId(), badString = NewEventId(), tooLarge = NewEventId();
        string missingJson = "{\"event_id\":\"" + missing + "\",\"type\":\"m.room.message\",\"sender\":\"@a:test\",\"content\":{}}";
        string wrongTypeJson = Ev(wrongType, room, "m.room.member", "@x:test", "{\"membership\":5}");
        string badStringJson = Ev(badString, room, "m.room.member", "@x\\u0000:test", "{\"membership\":\"join\"}");
        string tooLargeJson = Ev(tooLarge, room, "m.room.message", null, "{\"body\":\"" + new string('x', 70_000) + "\"}");
        var neighbour = Neighbour(room);
        await PutOkAsync(txn, Txn(missingJson, wrongTypeJson, badStringJson, tooLargeJson, "42", neighbour.Json));

        Assert.Equal("text", await QueryAsync<string>(
            "SELECT data_type::text FROM information_schema.columns WHERE table_name = 'rejected_events' AND column_name = 'content'"));
        Assert.Equal("missing_field", await QueryAsync<string>("SELECT reason_code FROM rejected_events WHERE event_id = $1", missing));
        Assert.Equal("wrong_type", await QueryAsync<string>("SELECT reason_code FROM rejected_events WHERE event_id = $1", wrongType));
        Assert.Equal("invalid_string", await QueryAsync<string>("SELECT reason_code FROM rejected_events WHERE event_id = $1", badString));
        Assert.Equal("too_large", await QueryAsync<string>("SELECT reason_code FROM rejected_events WHERE event_id = $1", tooLarge));
        Assert.Equal("not_object", await QueryAsync<string>("SELECT reason_code FROM rejected_events WHERE txn_id = $1 AND event_id IS NULL", txn));
        Assert.Equal(missingJson, await QueryAsync<string>("SELECT content FROM rejected_events WHERE event_id = $1", missing));
        Assert.Equal(badStringJson, await QueryAsync<string>("SELECT content FROM rejected_events WHERE event_id = $1", badString));
        await AssertAppliedAsync(neighbour.Id);
    }

    // ---- 5. Invalid UTF-8 is not JSON: 400 M_NOT_JSON, nothing applied ----------------------------------------

    [Theory]
    [InlineData("EDA080")]
    [InlineData("EDBFBF")]
    [InlineData("FF")]
    [InlineData("C080")]
    [InlineData("E282")]
    [InlineData("F5808080")]
    public async Task A_body_with_invalid_utf8_is_400_M_NOT_JSON_and_nothing_is_applied(string hex)
    {
        string room = Room();
        var neighbour = Neighbour(room);
        string id = NewEventId();
        string[] halves = Txn(neighbour.Json, Ev(id, room, "m.room.member", "@eve:test", "{\"membership\":\"join\",\"displayname\":\"Eve|\"}"))
            .Split('|');
        byte[] before = Encoding.UTF8.GetBytes(halves[0]), after = Encoding.UTF8.GetBytes(halves[1]);
        var (status, text) = await PutAsync(Txn(), [.. before, .. Convert.FromHexString(hex), .. after]);

        Assert.Equal((HttpStatusCode.BadRequest, "M_NOT_JSON"), (status, ErrCode(text)));
        Assert.False(await ProcessedAsync(neighbour.Id));
        Assert.False(await ProcessedAsync(id));
    }

    [Fact]
    public async Task A_lone_surrogate_in_an_unknown_top_level_key_name_changes_nothing()
    {
        string room = Room(), txn = Txn(), id = NewEventId();
        await PutOkAsync(txn, "{\"\\ud800top\":1,\"\\udc00\":\"\\u0000\",\"events\":[" + Ev(id, room, "m.room.message", null, "{\"body\":\"x\"}") + "]}");
        await AssertAppliedAsync(id);
    }

    [Fact]
    public async Task A_lone_surrogate_in_a_key_name_inside_an_event_is_answered_200_and_the_event_applied_or_rejected()
    {
        string room = Room(), txn = Txn(), id = NewEventId();
        var neighbour = Neighbour(room);
        string bad = Ev(id, room, "m.room.message", null, "{\"body\":\"x\",\"\\udc00\":\"\\ud800\"}")
            .Replace("\"content\"", "\"\\ud800unknown\":true,\"content\"", StringComparison.Ordinal);
        await PutOkAsync(txn, Txn(bad, neighbour.Json));
        await AssertAppliedAsync(neighbour.Id);
        Assert.NotEqual(await ProcessedAsync(id), await RejectedAsync(id));
    }

    // ---- 6. Depth: 100 levels are applied, more than 1024 reject that event only ------------------------------

    private static string Nested(int depth) => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);

    [Theory]
    [InlineData(61)]
    [InlineData(64)]
    [InlineData(100)]
    [InlineData(1000)]
    public async Task Content_nested_up_to_a_thousand_levels_is_applied(int depth)
    {
        string room = Room(), id = NewEventId();
        var neighbour = Neighbour(room);
        await PutOkAsync(Txn(), Txn(Ev(id, room, "m.room.message", null, "{\"deep\":" + Nested(depth) + "}"), neighbour.Json));
        await AssertAppliedAsync(id);
        await AssertAppliedAsync(neighbour.Id);
    }

    [Theory]
    [InlineData(1100)]
    [InlineData(2000)]
    [InlineData(3000)]
    public async Task Content_nested_deeper_than_1024_levels_rejects_that_event_as_too_deep(int depth)
    {
        string room = Room(), id = NewEventId();
        var neighbour = Neighbour(room);
        await PutOkAsync(Txn(), Txn(Ev(id, room, "m.room.message", null, "{\"deep\":" + Nested(depth) + "}"), neighbour.Json));
        await AssertRejectedAsync(id);
        await AssertAppliedAsync(neighbour.Id);
        Assert.Equal("too_deep", await QueryAsync<string>("SELECT reason_code FROM rejected_events WHERE event_id = $1", id));
    }

    // ---- 7. U+0000 in admin parameters: 400 ProblemDetails, never 500 ------------------------------------------

    [Theory]
    [InlineData("/admin/v1/rooms?from=%00")]
    [InlineData("/admin/v1/rooms?from=IQA")] // base64url of "!\0": a well-formed token of a room id with U+0000
    [InlineData("/admin/v1/jobs?room_id=%00")]
    [InlineData("/admin/v1/jobs?room_id=%21r%00%3Atest&state=all")]
    public async Task NUL_in_an_admin_query_parameter_is_400_problem_details(string path)
    {
        using var response = await AdminClient().GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/admin/v1/rooms/%21r%00%3Atest")]
    [InlineData("/admin/v1/rooms/%21r%00%3Atest/members")]
    [InlineData("/admin/v1/users/%40u%00%3Atest/rooms")]
    [InlineData("/admin/v1/events/%24e%00")]
    public async Task NUL_in_an_admin_path_id_is_a_4xx(string path)
    {
        // Kestrel itself refuses a path that decodes to U+0000 (400 without a body); whoever answers, never 5xx.
        using var response = await AdminClient().GetAsync(path);
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private HttpClient AdminClient()
    {
        var client = new HttpClient { BaseAddress = app.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Infrastructure.AppServiceApplication.AdminToken);
        return client;
    }

    // ---- 8. Chunked bodies, malformed framing and stalled bodies over raw sockets ------------------------------

    private static byte[] Head(string txnId, string framing) => Encoding.ASCII.GetBytes(
        $"PUT /_matrix/app/v1/transactions/{txnId} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {Infrastructure.AppServiceApplication.HsToken}\r\n"
        + $"Content-Type: application/json\r\nConnection: close\r\n{framing}\r\n");

    private static byte[] Chunk(ReadOnlySpan<byte> data) =>
        [.. Encoding.ASCII.GetBytes(data.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), .. data, .. "\r\n"u8];

    private static byte[] Chunked(byte[] body, int chunkSize)
    {
        var output = new List<byte>(body.Length * 2);
        for (int i = 0; i < body.Length; i += chunkSize)
        {
            output.AddRange(Chunk(body.AsSpan(i, Math.Min(chunkSize, body.Length - i))));
        }

        output.AddRange("0\r\n\r\n"u8.ToArray());
        return [.. output];
    }

    /// <summary>Writes the request (the head, then each part after its delay), reads the answer until the server closes.</summary>
    private async Task<(int Status, string Body)> RawAsync(params (byte[] Bytes, TimeSpan Delay)[] parts)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, app.BaseAddress.Port);
        var stream = tcp.GetStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            foreach (var (bytes, delay) in parts)
            {
                await Task.Delay(delay, timeout.Token);
                await stream.WriteAsync(bytes, timeout.Token);
            }
        }
        catch (IOException)
        {
            // The server may answer and close before the whole request is written.
        }

        var response = new MemoryStream();
        try
        {
            await stream.CopyToAsync(response, timeout.Token);
        }
        catch (IOException)
        {
        }

        return ParseResponse(response.ToArray());
    }

    private static (int Status, string Body) ParseResponse(byte[] raw)
    {
        string text = Encoding.UTF8.GetString(raw);
        int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, $"no HTTP answer: {text}");
        string head = text[..end];
        string body = text[(end + 4)..];
        int status = int.Parse(head.Split(' ')[1], CultureInfo.InvariantCulture);
        if (head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            var decoded = new StringBuilder();
            int i = 0;
            while (i < body.Length)
            {
                int lineEnd = body.IndexOf("\r\n", i, StringComparison.Ordinal);
                int size = int.Parse(body[i..lineEnd], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    break;
                }

                decoded.Append(body, lineEnd + 2, size);
                i = lineEnd + 2 + size + 2;
            }

            body = decoded.ToString();
        }

        return (status, body);
    }

    [Fact]
    public async Task A_chunked_body_is_measured_on_its_decoded_bytes_not_its_framing()
    {
        string room = Room(), id = NewEventId();
        // The padding is in a top-level key nothing reads, so the event itself stays small (and applied).
        string json = "{\"com.example.pad\":\"PAD\",\"events\":[" + Ev(id, room, "m.room.message", null, "{\"body\":\"x\"}") + "]}";
        int pad = FuzzApplication.MaxTransactionBytes - Encoding.UTF8.GetByteCount(json) + 3 - 10;
        byte[] body = Encoding.UTF8.GetBytes(json.Replace("PAD", new string('p', pad), StringComparison.Ordinal));
        Assert.Equal(FuzzApplication.MaxTransactionBytes - 10, body.Length);

        // 16-byte chunks: with framing about 1.4 MiB on the wire, 10 bytes under the limit decoded.
        var (status, text) = await RawAsync((Head(Txn(), "Transfer-Encoding: chunked\r\n"), TimeSpan.Zero), (Chunked(body, 16), TimeSpan.Zero));
        Assert.True(status == 200, $"{status} {text}");
        await AssertAppliedAsync(id);
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_is_413_M_TOO_LARGE()
    {
        string room = Room(), id = NewEventId();
        string json = Txn(Ev(id, room, "m.room.message", null, "{\"body\":\"PAD\"}"));
        int pad = FuzzApplication.MaxTransactionBytes - Encoding.UTF8.GetByteCount(json) + 3 + 1;
        byte[] body = Encoding.UTF8.GetBytes(json.Replace("PAD", new string('p', pad), StringComparison.Ordinal));
        Assert.Equal(FuzzApplication.MaxTransactionBytes + 1, body.Length);

        var (status, text) = await RawAsync((Head(Txn(), "Transfer-Encoding: chunked\r\n"), TimeSpan.Zero), (Chunked(body, 64 * 1024), TimeSpan.Zero));
        Assert.Equal((413, "M_TOO_LARGE"), (status, ErrCode(text)));
        Assert.False(await ProcessedAsync(id));
    }

    [Theory]
    [InlineData("ZZ\r\n{}\r\n0\r\n\r\n")] // not a hex size
    [InlineData("5\r\n{\"events\":[]}\r\n0\r\n\r\n")] // more data than the size says
    [InlineData("2\r\n{}XX0\r\n\r\n")] // no CRLF after the data
    [InlineData("ffffffffffffffffffff\r\n{}\r\n0\r\n\r\n")] // a size that overflows
    public async Task Malformed_chunked_framing_is_400_with_a_matrix_error(string framing)
    {
        var (status, text) = await RawAsync((Head(Txn(), "Transfer-Encoding: chunked\r\n"), TimeSpan.Zero), (Encoding.ASCII.GetBytes(framing), TimeSpan.Zero));
        Assert.Equal(400, status);
        Assert.StartsWith("M_", ErrCode(text), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_that_stalls_past_the_body_timeout_is_408_with_a_matrix_error()
    {
        byte[] start = "{\"events\":["u8.ToArray();
        // Content-Length promises 1000 bytes; 11 come, then nothing. Kestrel's minimum data rate (2 s grace) cuts it.
        var (status, text) = await RawAsync((Head(Txn(), "Content-Length: 1000\r\n"), TimeSpan.Zero), (start, TimeSpan.Zero),
            ([(byte)' '], TimeSpan.FromSeconds(8)));
        Assert.Equal(408, status);
        Assert.StartsWith("M_", ErrCode(text), StringComparison.Ordinal);
    }

    // ---- 9. A failing transaction must not poison the pooled connection for the ones after it ------------------

    [Fact]
    public async Task Valid_transactions_after_poisoned_ones_are_all_applied_and_replays_acknowledged()
    {
        var acknowledged = new List<(string Txn, string Body, string Id)>();
        for (int i = 0; i < 40; i++)
        {
            string room = Room();
            // Alternate causes that used to fail inside the first batch (text column and jsonb cast).
            string poison = (i % 2 == 0)
                ? Ev(NewEventId(), room, "m.room.member", "@p:test", "{\"membership\":\"join\",\"displayname\":\"P\\u0000\"}", "@p:test")
                : "{\"event_id\":\"" + NewEventId() + "\",\"room_id\":\"" + room + "\",\"content\":{\"x\":\"\\u0000\"}}";
            await PutAsync(Txn(), Txn(poison));
            var good = Neighbour(room);
            string txn = Txn(), body = Txn(good.Json);
            await PutOkAsync(txn, body);
            acknowledged.Add((txn, body, good.Id));
        }

        foreach (var (txn, body, id) in acknowledged)
        {
            await AssertAppliedAsync(id);
            await PutOkAsync(txn, body);
        }
    }
}
