using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppService.Admin;
using AppService.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.InputSafety;

/// <summary>
/// The reproducers of issue 8, sent over HTTP to the service on real PostgreSQL. The contract: a body that is JSON
/// with an events array within the size limit is answered 200 {} (valid events applied, the others quarantined in
/// the same commit) or 503 while the database is unavailable; never 500, never 400 because of one event.
/// Escapes JSON writers would never produce (\u0000, lone surrogates, 1e999999) are spliced into the serialized
/// body in place of a marker.
/// </summary>
public sealed class InputSafetyTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    private const string Nul = "@@NUL@@";
    private const string Lone = "@@LONE@@";

    private static string Splice(string json) => json
        .Replace(Nul, "\\u0000", StringComparison.Ordinal)
        .Replace(Lone, "\\ud800", StringComparison.Ordinal);

    private static string BodyOf(params JsonObject[] events) =>
        Splice(new JsonObject { ["events"] = new JsonArray(events.Select(e => (JsonNode)e.DeepClone()).ToArray()) }.ToJsonString());

    private async Task<(HttpStatusCode Status, string Body)> PutAsync(string txnId, string body)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await app.Homeserver().PutAsync($"/_matrix/app/v1/transactions/{Uri.EscapeDataString(txnId)}", content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task PutOkAsync(string txnId, string body) =>
        Assert.Equal((HttpStatusCode.OK, "{}"), await PutAsync(txnId, body));

    private async Task<IReadOnlyList<RejectedEventResponse>> RejectedAsync(string query)
    {
        var page = await app.Admin().GetFromJsonAsync<RejectedEventsPage>($"/admin/v1/rejected-events?{query}");
        return page!.RejectedEvents;
    }

    private async Task<bool> ProcessedAsync(string eventId)
    {
        await using var db = app.CreateDbContext();
        return await db.ProcessedEvents.AnyAsync(e => e.EventId == eventId);
    }

    [Fact]
    public async Task Nul_in_a_displayname_beside_a_good_event_is_applied_with_the_nul_removed()
    {
        string room = NewRoomId();
        var eve = Member(room, Alice, "join", displayname: $"Eve{Nul}");
        var bob = Member(room, Bob, "join", displayname: "Bob");

        await PutOkAsync(NewTxn(), BodyOf(eve, bob));

        Assert.Equal("Eve", (await app.MemberAsync(room, Alice))!.DisplayName);
        Assert.Equal("Bob", (await app.MemberAsync(room, Bob))!.DisplayName);
    }

    [Theory]
    [InlineData("name", "name")]
    [InlineData("topic", "topic")]
    [InlineData("canonical_alias", "alias")]
    [InlineData("avatar_url", "url")]
    [InlineData("join_rule", "join_rule")]
    [InlineData("history_visibility", "history_visibility")]
    [InlineData("encryption", "algorithm")]
    [InlineData("tombstone_successor", "replacement_room")]
    public async Task Nul_and_lone_surrogates_in_room_display_values_are_stored_cleaned(string field, string key)
    {
        string room = NewRoomId();
        string type = field switch
        {
            "name" => "m.room.name", "topic" => "m.room.topic", "canonical_alias" => "m.room.canonical_alias",
            "avatar_url" => "m.room.avatar", "join_rule" => "m.room.join_rules", "history_visibility" => "m.room.history_visibility",
            "encryption" => "m.room.encryption", _ => "m.room.tombstone",
        };
        var create = State(room, "m.room.create", new JsonObject { ["room_version"] = $"10{Nul}", ["creator"] = $"@c{Lone}:test", ["predecessor"] = new JsonObject { ["room_id"] = $"!old{Nul}:test" } });
        var e = State(room, type, new JsonObject { [key] = $"a{Nul}b{Lone}c" });

        await PutOkAsync(NewTxn(), BodyOf(create, e));

        var info = (await app.RoomAsync(room))!;
        var stored = JsonSerializer.SerializeToElement(info).GetProperty(field).GetString();
        Assert.Equal("ab\uFFFDc", stored);
        Assert.Equal("10", info.RoomVersion);
        Assert.Equal("@c\uFFFD:test", info.Creator);
        Assert.Equal("!old:test", info.PredecessorRoomId);
    }

    [Theory]
    [InlineData("event_id")]
    [InlineData("room_id")]
    [InlineData("type")]
    [InlineData("state_key")]
    [InlineData("sender")]
    public async Task Nul_or_a_lone_surrogate_in_an_envelope_id_rejects_that_event_as_invalid_string_and_applies_the_others(string field)
    {
        foreach (string marker in new[] { Nul, Lone })
        {
            string room = NewRoomId();
            var bad = Member(room, Carol, "join");
            bad[field] = bad[field]!.GetValue<string>() + marker;
            var good = Member(room, Bob, "join");
            string txn = NewTxn();

            await PutOkAsync(txn, BodyOf(bad, good));

            Assert.Equal("join", (await app.MemberAsync(room, Bob))!.Membership);
            Assert.Null(await app.MemberAsync(room, Carol));
            var rejected = (await RejectedAsync("reason=invalid_string&limit=1000")).Where(r => r.TxnId == txn).ToList();
            var row = Assert.Single(rejected);
            Assert.Contains(field, row.Reason, StringComparison.Ordinal);
            Assert.Contains(marker == Nul ? "\\u0000" : "\\ud800", row.Content!, StringComparison.Ordinal);
            Assert.Equal(Encoding.UTF8.GetByteCount(row.Content!), row.ContentBytes);
        }
    }

    [Fact]
    public async Task A_nul_event_id_is_stored_escaped_in_the_rejected_row()
    {
        string room = NewRoomId();
        var bad = Message(room, Alice, "x");
        bad["event_id"] = $"$nul{Nul}id";
        string txn = NewTxn();

        await PutOkAsync(txn, BodyOf(bad, Message(room, Alice, "ok")));

        var row = Assert.Single(await RejectedAsync($"room_id={Uri.EscapeDataString(room)}"), r => r.TxnId == txn);
        Assert.Equal("$nul\\u0000id", row.EventId);
    }

    [Theory]
    [InlineData("""{"membership":"join","x":"@@NUL@@"}""", "wrong_type")] // content ok but type wrong below
    [InlineData("""{"membership":"@@LONE@@"}""", "invalid_string")]
    [InlineData("""{"membership":1e999999}""", "wrong_type")]
    [InlineData("""{"membership":["@@NUL@@","@@LONE@@"]}""", "wrong_type")]
    public async Task Rejected_events_whose_json_postgresql_cannot_cast_to_jsonb_are_stored(string content, string code)
    {
        string room = NewRoomId();
        var bad = Member(room, Carol, "join");
        bad["content"] = JsonNode.Parse(content.Replace("1e999999", "1", StringComparison.Ordinal));
        string json = BodyOf(bad, Member(room, Bob, "join"));
        if (content.Contains("1e999999", StringComparison.Ordinal))
        {
            json = json.Replace("\"membership\":1", "\"membership\":1e999999", StringComparison.Ordinal);
        }

        if (code == "wrong_type" && content.Contains("\"x\"", StringComparison.Ordinal))
        {
            json = json.Replace("\"type\":\"m.room.member\",\"sender\":\"@carol:test\"", "\"type\":5,\"sender\":\"@carol:test\"", StringComparison.Ordinal);
        }

        string txn = NewTxn();
        await PutOkAsync(txn, json);

        Assert.Equal("join", (await app.MemberAsync(room, Bob))!.Membership);
        var row = Assert.Single(await RejectedAsync("limit=1000"), r => r.TxnId == txn);
        Assert.Equal(code, row.ReasonCode);
        Assert.NotNull(row.Content);
    }

    [Fact]
    public async Task A_3_KB_event_id_is_rejected_and_stored_by_its_hash()
    {
        string room = NewRoomId();
        var bad = Message(room, Alice, "x");
        // Random, so that PostgreSQL cannot compress the index entry under its ~2.7 KB limit (a run of 'a' would fit).
        bad["event_id"] = "$" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(1500));
        string txn = NewTxn();

        await PutOkAsync(txn, BodyOf(bad, Message(room, Alice, "ok")));

        var row = Assert.Single(await RejectedAsync($"room_id={Uri.EscapeDataString(room)}"), r => r.TxnId == txn);
        Assert.Equal("too_large", row.ReasonCode);
        Assert.StartsWith("sha256:", row.EventId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lone_surrogate_in_redacts_rejects_that_event_and_one_in_a_key_name_nothing_reads_does_not()
    {
        string room = NewRoomId();
        var redaction = new JsonObject
        {
            ["event_id"] = NewEventId(), ["room_id"] = room, ["type"] = "m.room.redaction", ["sender"] = Alice,
            ["redacts"] = $"$x{Lone}", ["content"] = new JsonObject(),
        };
        var badKey = Message(room, Alice, "x");
        badKey[$"k{Lone}"] = 1;
        var good = Member(room, Bob, "join");
        string txn = NewTxn();

        await PutOkAsync(txn, BodyOf(redaction, badKey, good));

        Assert.Equal("join", (await app.MemberAsync(room, Bob))!.Membership);
        var rows = (await RejectedAsync($"room_id={Uri.EscapeDataString(room)}")).Where(r => r.TxnId == txn).ToList();
        Assert.Equal("invalid_string", Assert.Single(rows).ReasonCode); // the redaction; a key name nothing reads rejects nothing (issue 16 point 4)
        Assert.True(await ProcessedAsync(badKey.Id()));
    }

    [Fact]
    public async Task A_lone_surrogate_in_invite_room_state_or_replaces_state_never_fails_the_transaction()
    {
        string room = NewRoomId();
        var invite = Member(room, AppServiceApplication.BotUserId, "invite", sender: Alice);
        invite["unsigned"] = new JsonObject
        {
            ["invite_room_state"] = new JsonArray(
                new JsonObject { ["type"] = "m.room.name", ["state_key"] = "", ["sender"] = Alice, ["content"] = new JsonObject { ["name"] = $"Na{Lone}me{Nul}" } },
                new JsonObject { ["type"] = "m.room.create", ["state_key"] = "", ["sender"] = $"@x{Nul}:test", ["content"] = new JsonObject { ["room_version"] = "11" } }),
        };
        var replaces = Member(room, Bob, "join");
        replaces["unsigned"] = new JsonObject { ["replaces_state"] = $"$old{Lone}" };
        string txn = NewTxn();

        await PutOkAsync(txn, BodyOf(invite, replaces));

        Assert.Equal("Na\uFFFDme", (await app.RoomAsync(room))!.Name);
        Assert.Null(await app.MemberAsync(room, Bob));
        var row = Assert.Single(await RejectedAsync($"room_id={Uri.EscapeDataString(room)}"), r => r.TxnId == txn);
        Assert.Equal("invalid_string", row.ReasonCode);
    }

    [Fact]
    public async Task A_body_with_invalid_utf8_bytes_is_400_M_NOT_JSON()
    {
        byte[] body = [.. "{\"events\":[{\"event_id\":\"$a"u8, 0xFF, 0xFE, .. "\"}]}"u8];
        using var content = new ByteArrayContent(body);
        using var response = await app.Homeserver().PutAsync($"/_matrix/app/v1/transactions/{NewTxn()}", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("M_NOT_JSON", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errcode").GetString());
    }

    [Fact]
    public async Task Content_nested_100_levels_is_applied_and_2000_levels_rejects_only_that_event_as_too_deep()
    {
        string room = NewRoomId();
        var shallow = Message(room, Alice, "x");
        shallow["content"] = new JsonObject { ["deep"] = "@@DEEP100@@" };
        var deep = Message(room, Alice, "y");
        deep["content"] = new JsonObject { ["deep"] = "@@DEEP2000@@" };
        var good = Member(room, Bob, "join");
        string json = BodyOf(shallow, deep, good)
            .Replace("\"@@DEEP100@@\"", Nested(100), StringComparison.Ordinal)
            .Replace("\"@@DEEP2000@@\"", Nested(2000), StringComparison.Ordinal);
        string txn = NewTxn();

        await PutOkAsync(txn, json);

        Assert.True(await ProcessedAsync(shallow.Id()));
        Assert.False(await ProcessedAsync(deep.Id()));
        Assert.Equal("join", (await app.MemberAsync(room, Bob))!.Membership);
        var row = Assert.Single(await RejectedAsync("reason=too_deep&limit=1000"), r => r.TxnId == txn);
        Assert.Equal(deep.Id(), row.EventId);

        static string Nested(int depth) => string.Concat(Enumerable.Repeat("[", depth)) + "1" + string.Concat(Enumerable.Repeat("]", depth));
    }

    [Fact]
    public async Task A_body_nesting_hundreds_of_thousands_of_levels_is_answered_quickly_rejecting_only_the_deep_event()
    {
        string room = NewRoomId();
        var deep = Message(room, Alice, "y");
        deep["content"] = new JsonObject { ["deep"] = "@@DEEP@@" };
        var good = Member(room, Bob, "join");
        string nested = new string('[', 300_000) + new string(']', 300_000);
        string json = BodyOf(deep, good).Replace("\"@@DEEP@@\"", nested, StringComparison.Ordinal);
        json = json[..^1] + ",\"ephemeral\":" + nested + "}";
        string txn = NewTxn();
        var started = System.Diagnostics.Stopwatch.StartNew();

        await PutOkAsync(txn, json);

        // JsonDocument alone would take minutes on this (its parse cost grows with size x depth).
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(30), $"took {started.Elapsed}");
        Assert.Equal("join", (await app.MemberAsync(room, Bob))!.Membership);
        var row = Assert.Single(await RejectedAsync("reason=too_deep&limit=1000"), r => r.TxnId == txn);
        Assert.Equal(deep.Id(), row.EventId);
        Assert.Equal(65536, Encoding.UTF8.GetByteCount(row.Content!));
    }

    [Fact]
    public async Task Top_level_keys_other_than_events_of_any_shape_never_fail_the_body()
    {
        string room = NewRoomId();
        string json = BodyOf(Member(room, Bob, "join"));
        json = json[..^1] + ""","ephemeral":5,"de.sorunome.msc2409.ephemeral":[1,"x",{"\ud800":null}],"de.sorunome.msc2409.to_device":"no","org.matrix.msc3202.device_lists":[],"\ud800\u0000":{}}""";

        await PutOkAsync(NewTxn(), json);

        Assert.Equal("join", (await app.MemberAsync(room, Bob))!.Membership);
    }

    [Fact]
    public async Task Events_that_are_not_objects_or_have_wrong_types_are_rejected_each_with_its_code()
    {
        string room = NewRoomId();
        var good = Member(room, Bob, "join");
        string json = BodyOf(good)[..^2] + """,5,"x",null,[],{"event_id":"$t1","room_id":7,"type":"m.x","content":{}},{"event_id":"$t2","room_id":"!r:test","type":"m.x"}]}""";
        string txn = NewTxn();

        await PutOkAsync(txn, json);

        Assert.Equal("join", (await app.MemberAsync(room, Bob))!.Membership);
        var rows = (await RejectedAsync("limit=1000")).Where(r => r.TxnId == txn).ToList();
        Assert.Equal(4, rows.Count(r => r.ReasonCode == "not_object"));
        Assert.Single(rows, r => r.ReasonCode == "wrong_type");
        Assert.Single(rows, r => r.ReasonCode == "missing_field");
    }

    [Fact]
    public async Task A_poisoned_projection_quarantines_only_that_event_the_others_are_applied_and_a_resend_is_a_no_op()
    {
        string room = NewRoomId();
        var events = Enumerable.Range(0, 7).Select(i => Member(room, $"@u{i}:test", "join")).ToArray();
        string poisoned = events[4].Id();
        await PoisonMemberWriteAsync(poisoned);
        string txn = NewTxn();
        var before = await Operations.Scrape.TakeAsync(app.CreateClient());
        try
        {
            await PutOkAsync(txn, BodyOf(events));

            var after = await Operations.Scrape.TakeAsync(app.CreateClient());
            Assert.True(after["appservice_transactions_salvaged_total"] >= before["appservice_transactions_salvaged_total"] + 1);
            const string quarantined = "appservice_events_rejected_total{reason=\"processing_failed\"}";
            Assert.True(after[quarantined] >= before[quarantined] + 1);

            for (int i = 0; i < events.Length; i++)
            {
                Assert.Equal(i == 4 ? null : "join", (await app.MemberAsync(room, $"@u{i}:test"))?.Membership);
            }

            var row = Assert.Single(await RejectedAsync($"room_id={Uri.EscapeDataString(room)}"), r => r.TxnId == txn);
            Assert.Equal(poisoned, row.EventId);
            Assert.Equal("processing_failed", row.ReasonCode);
            Assert.Equal("PostgresException P0001: poisoned projection", row.Reason);
            Assert.Equal(events[4].ToJsonString(), row.Content);

            await PutOkAsync(txn, BodyOf(events));
        }
        finally
        {
            await app.ExecuteSqlAsync("DROP TRIGGER IF EXISTS poison ON room_members;");
        }

        Assert.Equal(6, await app.ScalarAsync($"SELECT count(*) FROM processed_events WHERE txn_id = '{txn}'"));
        Assert.Equal(1, await app.ScalarAsync($"SELECT count(*) FROM rejected_events WHERE txn_id = '{txn}'"));
        Assert.Equal(6, await app.ScalarAsync($"SELECT new_event_count FROM txn_ledger WHERE txn_id = '{txn}'"));
        Assert.Equal(1, await app.ScalarAsync($"SELECT rejected_count FROM txn_ledger WHERE txn_id = '{txn}'"));
    }

    [Fact]
    public async Task A_crash_between_salvage_groups_loses_nothing_and_applies_nothing_twice()
    {
        string room = NewRoomId();
        var events = Enumerable.Range(0, 5).Select(i => Member(room, $"@c{i}:test", "join")).ToArray();
        string txn = NewTxn();

        // The poisoned member forces the safety net; the ledger trigger then makes its final step fail, as a crash
        // would after the groups committed.
        await PoisonMemberWriteAsync(events[1].Id());
        await app.ExecuteSqlAsync($"""
            CREATE OR REPLACE FUNCTION fail_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'ledger down'; END $$;
            CREATE TRIGGER fail_ledger BEFORE INSERT ON txn_ledger FOR EACH ROW WHEN (NEW.txn_id = '{txn}') EXECUTE FUNCTION fail_ledger();
            """);
        try
        {
            var (status, _) = await PutAsync(txn, BodyOf(events));
            Assert.Equal(HttpStatusCode.InternalServerError, status);
            Assert.Equal(4, await app.ScalarAsync($"SELECT count(*) FROM processed_events WHERE room_id = '{room}'"));
            Assert.Equal(0, await app.ScalarAsync($"SELECT count(*) FROM txn_ledger WHERE txn_id = '{txn}'"));

            await app.ExecuteSqlAsync("DROP TRIGGER fail_ledger ON txn_ledger;");
            await PutOkAsync(txn, BodyOf(events));
        }
        finally
        {
            await app.ExecuteSqlAsync("DROP TRIGGER IF EXISTS fail_ledger ON txn_ledger; DROP TRIGGER IF EXISTS poison ON room_members;");
        }

        Assert.Equal(4, await app.ScalarAsync($"SELECT count(*) FROM processed_events WHERE room_id = '{room}'"));
        Assert.Equal(4, await app.ScalarAsync($"SELECT count(*) FROM room_members WHERE room_id = '{room}'"));
        Assert.Equal(1, await app.ScalarAsync($"SELECT count(*) FROM rejected_events WHERE room_id = '{room}'"));
        Assert.Equal(1, await app.ScalarAsync($"SELECT count(*) FROM txn_ledger WHERE txn_id = '{txn}'"));
    }

    [Fact]
    public async Task A_redaction_of_a_rejected_event_removes_its_stored_content()
    {
        string room = NewRoomId();
        var bad = Member(room, Carol, "dance");
        await PutOkAsync(NewTxn(), BodyOf(bad));
        var redaction = new JsonObject
        {
            ["event_id"] = NewEventId(), ["room_id"] = room, ["type"] = "m.room.redaction", ["sender"] = Alice,
            ["redacts"] = bad.Id(), ["content"] = new JsonObject { ["redacts"] = bad.Id() },
        };

        await PutOkAsync(NewTxn(), BodyOf(redaction));

        var row = Assert.Single(await RejectedAsync($"room_id={Uri.EscapeDataString(room)}"));
        Assert.Null(row.Content);
        Assert.Equal(redaction.Id(), row.RedactedBy);
        Assert.True(row.ContentBytes > 0);
    }

    [Fact]
    public async Task A_redaction_in_a_salvaged_transaction_removes_the_content_of_an_event_rejected_in_it()
    {
        // Found in review: the safety net applied the redaction in its group before the final step stored the
        // rejection it targets, so the rejected event's content stayed.
        string room = NewRoomId();
        var bad = Member(room, Carol, "dance");
        var poisoned = Member(room, "@p:test", "join");
        var redaction = new JsonObject
        {
            ["event_id"] = NewEventId(), ["room_id"] = room, ["type"] = "m.room.redaction", ["sender"] = Alice,
            ["redacts"] = bad.Id(), ["content"] = new JsonObject { ["redacts"] = bad.Id() },
        };
        await PoisonMemberWriteAsync(poisoned.Id());
        try
        {
            await PutOkAsync(NewTxn(), BodyOf(bad, poisoned, redaction));
        }
        finally
        {
            await app.ExecuteSqlAsync("DROP TRIGGER IF EXISTS poison ON room_members;");
        }

        var rows = await RejectedAsync($"room_id={Uri.EscapeDataString(room)}");
        Assert.Equal("processing_failed", Assert.Single(rows, r => r.EventId == poisoned.Id()).ReasonCode);
        var row = Assert.Single(rows, r => r.EventId == bad.Id());
        Assert.Null(row.Content);
        Assert.Equal(redaction.Id(), row.RedactedBy);
    }

    [Theory]
    [InlineData("57014")] // statement_timeout, e.g. waiting on a room lock a long resync holds
    [InlineData("25006")] // read-only transaction: a failover in progress
    [InlineData("53200")] // out of memory
    public async Task A_database_side_failure_is_503_and_never_quarantines_the_events(string sqlState)
    {
        // Found in review: the safety net took any non-transient error for poison, quarantined the good events one by
        // one and acknowledged them unapplied (the ledger row then made every retry a no-op).
        string room = NewRoomId();
        var events = Enumerable.Range(0, 3).Select(i => Member(room, $"@d{i}:test", "join")).ToArray();
        await app.ExecuteSqlAsync($"""
            CREATE OR REPLACE FUNCTION environmental() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'the server, not the event' USING ERRCODE = '{sqlState}'; END $$;
            DROP TRIGGER IF EXISTS environmental ON room_members;
            CREATE TRIGGER environmental BEFORE INSERT ON room_members FOR EACH ROW WHEN (NEW.room_id = '{room}') EXECUTE FUNCTION environmental();
            """);
        string txn = NewTxn();
        try
        {
            var (status, body) = await PutAsync(txn, BodyOf(events));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Contains("M_UNKNOWN", body, StringComparison.Ordinal);
            Assert.Equal(0, await app.ScalarAsync($"SELECT count(*) FROM rejected_events WHERE room_id = '{room}'"));
            Assert.Equal(0, await app.ScalarAsync($"SELECT count(*) FROM txn_ledger WHERE txn_id = '{txn}'"));
        }
        finally
        {
            await app.ExecuteSqlAsync("DROP TRIGGER IF EXISTS environmental ON room_members;");
        }

        await PutOkAsync(txn, BodyOf(events));
        Assert.Equal(3, await app.ScalarAsync($"SELECT count(*) FROM room_members WHERE room_id = '{room}'"));
        Assert.Equal(0, await app.ScalarAsync($"SELECT count(*) FROM rejected_events WHERE room_id = '{room}'"));
    }

    [Fact]
    public async Task A_lone_surrogate_key_beside_a_too_deep_event_is_answered_200_with_only_that_event_rejected()
    {
        // Found in review: the linear pass for too-deep bodies compared names with ValueTextEquals, which throws on a
        // lone-surrogate escape: 500 for ever.
        string room = NewRoomId();
        var good = Member(room, Alice, "join");
        string deepId = NewEventId();
        string deep = $"{{\"@@LONE@@\":1,\"event_id\":\"{deepId}\",\"room_id\":\"{room}\",\"type\":\"m.room.message\",\"sender\":\"{Alice}\",\"content\":{{\"x\":{new string('[', 1100)}{new string(']', 1100)}}}}}";
        string body = Splice($"{{\"@@LONE@@\":0,\"events\":[{good.ToJsonString()},{deep}]}}");

        await PutOkAsync(NewTxn(), body);

        Assert.True(await ProcessedAsync(good.Id()));
        Assert.Equal("too_deep", Assert.Single(await RejectedAsync($"room_id={Uri.EscapeDataString(room)}")).ReasonCode);
    }

    [Fact]
    public async Task A_body_naming_events_twice_is_read_by_its_last_array_even_when_the_first_is_too_deep()
    {
        // Found in review: the too-deep events of the first array were matched by index to the last array's events,
        // so a valid event was stored as another event's too_deep rejection.
        string room = NewRoomId();
        string deepId = NewEventId();
        string deep = $"{{\"event_id\":\"{deepId}\",\"room_id\":\"{room}\",\"type\":\"m.room.message\",\"sender\":\"{Alice}\",\"content\":{{\"x\":{new string('[', 1100)}{new string(']', 1100)}}}}}";
        var valid = Member(room, Bob, "join");

        await PutOkAsync(NewTxn(), $"{{\"events\":[{deep}],\"events\":[{valid.ToJsonString()}]}}");

        Assert.True(await ProcessedAsync(valid.Id()));
        Assert.Equal("join", (await app.MemberAsync(room, Bob))?.Membership);
        Assert.Empty(await RejectedAsync($"room_id={Uri.EscapeDataString(room)}"));
    }

    [Fact]
    public async Task Rejected_events_are_listed_newest_first_a_page_at_a_time_and_counted_by_reason()
    {
        string room = NewRoomId();
        var bad = Enumerable.Range(0, 5).Select(_ => Member(room, Carol, "dance")).ToArray();
        await PutOkAsync(NewTxn(), BodyOf(bad));

        var seen = new List<string?>();
        string? from = null;
        do
        {
            var page = (await app.Admin().GetFromJsonAsync<RejectedEventsPage>(
                $"/admin/v1/rejected-events?room_id={Uri.EscapeDataString(room)}&reason=wrong_type&limit=2{(from is null ? "" : "&from=" + from)}"))!;
            Assert.True(page.RejectedEvents.Count <= 2);
            seen.AddRange(page.RejectedEvents.Select(r => r.EventId));
            from = page.NextBatch;
        }
        while (from is not null);

        Assert.Equal(bad.Select(e => e.Id()).Reverse(), seen);
        var stats = await app.StatsAsync();
        Assert.True(stats.EventsRejectedByReason["wrong_type"] >= 5);
        Assert.Equal(stats.EventsRejected, stats.EventsRejectedByReason.Values.Sum());
    }

    [Theory]
    [InlineData("/admin/v1/rejected-events?room_id=%00")]
    [InlineData("/admin/v1/jobs?room_id=a%00b")]
    [InlineData("/admin/v1/rooms?from=%00")]
    [InlineData("/admin/v1/rejected-events?reason=x%00")]
    [InlineData("/admin/v1/rooms/!a:test/members?membership=%00")]
    // A NUL in a path segment never reaches the app: the server's URL decoder refuses it with 400 itself.
    public async Task Nul_in_an_admin_parameter_is_a_400_not_a_500(string path)
    {
        using var response = await app.Admin().GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private Task PoisonMemberWriteAsync(string eventId) => app.ExecuteSqlAsync($"""
        CREATE OR REPLACE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.event_id = '{eventId}' THEN RAISE EXCEPTION 'poisoned projection'; END IF;
            RETURN NEW;
        END $$;
        DROP TRIGGER IF EXISTS poison ON room_members;
        CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON room_members FOR EACH ROW EXECUTE FUNCTION poison();
        """);

    private static string NewTxn() => "safety-" + Guid.NewGuid().ToString("N");
}
