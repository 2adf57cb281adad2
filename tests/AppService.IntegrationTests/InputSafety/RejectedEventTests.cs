using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AppService.Admin;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.InputSafety;

/// <summary>Rejected events: stored with a reason_code and their raw JSON as text (even JSON jsonb refuses), listed, counted and redacted.</summary>
public sealed class RejectedEventTests(KestrelApplication app) : HostileInput(app), IClassFixture<KestrelApplication>
{
    /// <summary>Each row is the whole rejected event as sent (ROOM and ID stand for its room and event id).</summary>
    [Theory]
    [InlineData("""{"event_id":"ID","room_id":"ROOM","type":5,"sender":"@carol:test","state_key":"@carol:test","content":{"membership":"join","x":"\u0000"}}""", "wrong_type")]
    [InlineData("""{"event_id":"ID","room_id":"ROOM","type":"m.room.member","sender":"@carol:test","state_key":"@carol:test","content":{"membership":"\ud800"}}""", "invalid_string")]
    [InlineData("""{"event_id":"ID","room_id":"ROOM","type":"m.room.member","sender":"@carol:test","state_key":"@carol:test","content":{"membership":1e999999}}""", "wrong_type")]
    [InlineData("""{"event_id":"ID","room_id":"ROOM","type":"m.room.member","sender":"@carol:test","state_key":"@carol:test","content":{"membership":["\u0000","\ud800"]}}""", "wrong_type")]
    public async Task Rejected_events_whose_json_postgresql_cannot_cast_to_jsonb_are_stored(string badEvent, string code)
    {
        string room = NewRoomId(), id = NewEventId(), txn = NewTxn();
        string bad = badEvent.Replace("ROOM", room, StringComparison.Ordinal).Replace("ID", id, StringComparison.Ordinal);

        await PutOkAsync(txn, "{\"events\":[" + bad + "," + Member(room, Bob, "join").ToJsonString() + "]}");

        Assert.Equal("join", (await App.MemberAsync(room, Bob))!.Membership);
        var row = Assert.Single(await App.RejectedEventsAsync("limit=1000"), r => r.TxnId == txn);
        Assert.Equal((id, code), (row.EventId, row.ReasonCode));
        Assert.Equal(bad, await App.QueryAsync<string>("SELECT content FROM rejected_events WHERE event_id = $1", id));
    }

    [Theory]
    [InlineData("{\"body\":\"a\\u0000b\"}")]
    [InlineData("{\"body\":\"a\\ud800b\"}")]
    [InlineData("{\"n\":1e999999}")]
    [InlineData("{\"n\":-1e-999999,\"m\":123456789012345678901234567890}")]
    [InlineData("{\"k\\u0000\":\"\\udc00\"}")]
    public async Task A_rejected_event_whose_json_jsonb_refuses_is_stored_and_the_transaction_acknowledged(string content)
    {
        string room = NewRoomId(), txn = NewTxn(), id = NewEventId();
        var neighbour = Neighbour(room);
        // No 'type': rejected for a missing field; its raw JSON holds what jsonb cannot.
        string bad = "{\"event_id\":\"" + id + "\",\"room_id\":\"" + room + "\",\"sender\":\"@a:test\",\"content\":" + content + "}";
        await PutOkAsync(txn, RawEvents.Body(bad, neighbour.Json));

        await AssertRejectedAsync(id);
        await AssertAppliedAsync(neighbour.Id);
        Assert.Equal(bad, await App.QueryAsync<string>("SELECT content::text FROM rejected_events WHERE event_id = $1", id));
    }

    [Fact]
    public async Task A_rejected_event_resent_in_a_new_transaction_is_not_counted_again_by_the_ledger()
    {
        string room = NewRoomId(), first = NewTxn(), second = NewTxn(), resent = NewEventId(), fresh = NewEventId();
        string resentJson = RawEvents.Event(resent, room, "m.room.member", "@x:test", "{\"membership\":5}");
        string freshJson = RawEvents.Event(fresh, room, "m.room.member", "@y:test", "{\"membership\":5}");

        await PutOkAsync(first, RawEvents.Body(resentJson));
        await PutOkAsync(second, RawEvents.Body(resentJson, freshJson));

        Assert.Equal(1, await RejectedInTxnAsync(first));
        Assert.Equal(1, await RejectedInTxnAsync(second));
        Assert.Equal(1, await App.QueryAsync<int>("SELECT rejected_count FROM txn_ledger WHERE txn_id = $1", first));
        Assert.Equal(1, await App.QueryAsync<int>("SELECT rejected_count FROM txn_ledger WHERE txn_id = $1", second));
    }

    [Fact]
    public async Task Rejected_events_keep_a_reason_code_and_their_raw_json_as_text()
    {
        string room = NewRoomId(), txn = NewTxn();
        string missing = NewEventId(), wrongType = NewEventId(), badString = NewEventId(), tooLarge = NewEventId();
        string missingJson = "{\"event_id\":\"" + missing + "\",\"type\":\"m.room.message\",\"sender\":\"@a:test\",\"content\":{}}";
        string wrongTypeJson = RawEvents.Event(wrongType, room, "m.room.member", "@x:test", "{\"membership\":5}");
        string badStringJson = RawEvents.Event(badString, room, "m.room.member", "@x\\u0000:test", "{\"membership\":\"join\"}");
        string tooLargeJson = RawEvents.Event(tooLarge, room, "m.room.message", null, "{\"body\":\"" + new string('x', 70_000) + "\"}");
        var neighbour = Neighbour(room);
        await PutOkAsync(txn, RawEvents.Body(missingJson, wrongTypeJson, badStringJson, tooLargeJson, "42", neighbour.Json));

        Assert.Equal("text", await App.QueryAsync<string>(
            "SELECT data_type::text FROM information_schema.columns WHERE table_name = 'rejected_events' AND column_name = 'content'"));
        Assert.Equal("missing_field", await ReasonCodeAsync(missing));
        Assert.Equal("wrong_type", await ReasonCodeAsync(wrongType));
        Assert.Equal("invalid_string", await ReasonCodeAsync(badString));
        Assert.Equal("too_large", await ReasonCodeAsync(tooLarge));
        Assert.Equal("not_object", await App.QueryAsync<string>("SELECT reason_code FROM rejected_events WHERE txn_id = $1 AND event_id IS NULL", txn));
        Assert.Equal(missingJson, await App.QueryAsync<string>("SELECT content FROM rejected_events WHERE event_id = $1", missing));
        Assert.Equal(badStringJson, await App.QueryAsync<string>("SELECT content FROM rejected_events WHERE event_id = $1", badString));
        await AssertAppliedAsync(neighbour.Id);
    }

    [Fact]
    public async Task Events_that_are_not_objects_or_have_wrong_types_are_rejected_each_with_its_code()
    {
        string room = NewRoomId();
        var good = Member(room, Bob, "join");
        string json = BodyOf(good)[..^2] + """,5,"x",null,[],{"event_id":"$t1","room_id":7,"type":"m.x","content":{}},{"event_id":"$t2","room_id":"!r:test","type":"m.x"}]}""";
        string txn = NewTxn();

        await PutOkAsync(txn, json);

        Assert.Equal("join", (await App.MemberAsync(room, Bob))!.Membership);
        var rows = (await App.RejectedEventsAsync("limit=1000")).Where(r => r.TxnId == txn).ToList();
        Assert.Equal(4, rows.Count(r => r.ReasonCode == "not_object"));
        Assert.Single(rows, r => r.ReasonCode == "wrong_type");
        Assert.Single(rows, r => r.ReasonCode == "missing_field");
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

        var row = Assert.Single(await App.RejectedEventsAsync($"room_id={Uri.EscapeDataString(room)}"));
        Assert.Null(row.Content);
        Assert.Equal(redaction.Id(), row.RedactedBy);
        Assert.True(row.ContentBytes > 0);
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
            var page = (await App.Admin().GetFromJsonAsync<RejectedEventsPage>(
                $"/admin/v1/rejected-events?room_id={Uri.EscapeDataString(room)}&reason=wrong_type&limit=2{(from is null ? "" : "&from=" + from)}"))!;
            Assert.True(page.RejectedEvents.Count <= 2);
            seen.AddRange(page.RejectedEvents.Select(r => r.EventId));
            from = page.NextBatch;
        }
        while (from is not null);

        Assert.Equal(bad.Select(e => e.Id()).Reverse(), seen);
        var stats = await App.StatsAsync();
        Assert.Equal(await App.ScalarAsync("SELECT count(*) FROM rejected_events WHERE reason_code = 'wrong_type'"), stats.EventsRejectedByReason["wrong_type"]);
        Assert.Equal(stats.EventsRejected, stats.EventsRejectedByReason.Values.Sum());
    }
}
