using System.Net;
using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using AppService.IntegrationTests.Operations;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.InputSafety;

/// <summary>
/// The safety net: a transaction that fails as a whole inside PostgreSQL is applied again in smaller groups, the
/// failing event quarantined as processing_failed; a failure of the database itself is 503 and quarantines nothing;
/// a failed transaction leaves the pooled connections fit for the next ones. Its counters are checked exactly, so the
/// class runs alone (<see cref="ProcessWideMetrics"/>).
/// </summary>
[Collection(ProcessWideMetrics.Name)]
public sealed class SafetyNetTests(KestrelApplication app) : HostileInput(app), IClassFixture<KestrelApplication>
{
    [Fact]
    public async Task A_poisoned_projection_quarantines_only_that_event_the_others_are_applied_and_a_resend_is_a_no_op()
    {
        string room = NewRoomId();
        var events = Enumerable.Range(0, 7).Select(i => Member(room, $"@u{i}:test", "join")).ToArray();
        string poisoned = events[4].Id();
        await PoisonMemberWriteAsync(poisoned);
        string txn = NewTxn();
        var before = await Scrape.TakeAsync(App.Client());
        try
        {
            await PutOkAsync(txn, BodyOf(events));

            var after = await Scrape.TakeAsync(App.Client());
            Assert.Equal(1, after.Growth(before, "appservice_transactions_salvaged_total"));
            Assert.Equal(1, after.Growth(before, "appservice_events_rejected_total{reason=\"processing_failed\"}"));
            Assert.Equal(6, after.Growth(before, "appservice_events_processed_total"));

            for (int i = 0; i < events.Length; i++)
            {
                Assert.Equal(i == 4 ? null : "join", (await App.MemberAsync(room, $"@u{i}:test"))?.Membership);
            }

            var row = Assert.Single(await App.RejectedEventsAsync($"room_id={Uri.EscapeDataString(room)}"), r => r.TxnId == txn);
            Assert.Equal(poisoned, row.EventId);
            Assert.Equal("processing_failed", row.ReasonCode);
            Assert.Equal("PostgresException P0001: poisoned projection", row.Reason);
            Assert.Equal(events[4].ToJsonString(), row.Content);

            await PutOkAsync(txn, BodyOf(events));
        }
        finally
        {
            await App.ExecuteSqlAsync("DROP TRIGGER IF EXISTS poison ON room_members;");
        }

        Assert.Equal(6, await App.ScalarAsync($"SELECT count(*) FROM processed_events WHERE txn_id = '{txn}'"));
        Assert.Equal(1, await App.ScalarAsync($"SELECT count(*) FROM rejected_events WHERE txn_id = '{txn}'"));
        Assert.Equal(6, await App.ScalarAsync($"SELECT new_event_count FROM txn_ledger WHERE txn_id = '{txn}'"));
        Assert.Equal(1, await App.ScalarAsync($"SELECT rejected_count FROM txn_ledger WHERE txn_id = '{txn}'"));
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
        await App.ExecuteSqlAsync($"""
            CREATE OR REPLACE FUNCTION fail_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'ledger down'; END $$;
            CREATE TRIGGER fail_ledger BEFORE INSERT ON txn_ledger FOR EACH ROW WHEN (NEW.txn_id = '{txn}') EXECUTE FUNCTION fail_ledger();
            """);
        try
        {
            var (status, _) = await PutAsync(txn, BodyOf(events));
            Assert.Equal(HttpStatusCode.InternalServerError, status);
            Assert.Equal(4, await App.ScalarAsync($"SELECT count(*) FROM processed_events WHERE room_id = '{room}'"));
            Assert.Equal(0, await App.ScalarAsync($"SELECT count(*) FROM txn_ledger WHERE txn_id = '{txn}'"));

            await App.ExecuteSqlAsync("DROP TRIGGER fail_ledger ON txn_ledger;");
            await PutOkAsync(txn, BodyOf(events));
        }
        finally
        {
            await App.ExecuteSqlAsync("DROP TRIGGER IF EXISTS fail_ledger ON txn_ledger; DROP TRIGGER IF EXISTS poison ON room_members;");
        }

        Assert.Equal(4, await App.ScalarAsync($"SELECT count(*) FROM processed_events WHERE room_id = '{room}'"));
        Assert.Equal(4, await App.ScalarAsync($"SELECT count(*) FROM room_members WHERE room_id = '{room}'"));
        Assert.Equal(1, await App.ScalarAsync($"SELECT count(*) FROM rejected_events WHERE room_id = '{room}'"));
        Assert.Equal(1, await App.ScalarAsync($"SELECT count(*) FROM txn_ledger WHERE txn_id = '{txn}'"));
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
            await App.ExecuteSqlAsync("DROP TRIGGER IF EXISTS poison ON room_members;");
        }

        var rows = await App.RejectedEventsAsync($"room_id={Uri.EscapeDataString(room)}");
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
        await App.ExecuteSqlAsync($"""
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
            Assert.Equal(0, await App.ScalarAsync($"SELECT count(*) FROM rejected_events WHERE room_id = '{room}'"));
            Assert.Equal(0, await App.ScalarAsync($"SELECT count(*) FROM txn_ledger WHERE txn_id = '{txn}'"));
        }
        finally
        {
            await App.ExecuteSqlAsync("DROP TRIGGER IF EXISTS environmental ON room_members;");
        }

        await PutOkAsync(txn, BodyOf(events));
        Assert.Equal(3, await App.ScalarAsync($"SELECT count(*) FROM room_members WHERE room_id = '{room}'"));
        Assert.Equal(0, await App.ScalarAsync($"SELECT count(*) FROM rejected_events WHERE room_id = '{room}'"));
    }

    [Fact]
    public async Task Valid_transactions_after_poisoned_ones_are_all_applied_and_replays_acknowledged()
    {
        var acknowledged = new List<(string Txn, string Body, string Id)>();
        for (int i = 0; i < 40; i++)
        {
            string room = NewRoomId();
            // Alternate causes that used to fail inside the first batch (text column and jsonb cast).
            string poison = (i % 2 == 0)
                ? RawEvents.Event(NewEventId(), room, "m.room.member", "@p:test", "{\"membership\":\"join\",\"displayname\":\"P\\u0000\"}", "@p:test")
                : "{\"event_id\":\"" + NewEventId() + "\",\"room_id\":\"" + room + "\",\"content\":{\"x\":\"\\u0000\"}}";
            // Each is answered 200 with its event rejected (the contract), not left unanswered.
            await PutOkAsync(NewTxn(), RawEvents.Body(poison));
            var good = Neighbour(room);
            string txn = NewTxn(), body = RawEvents.Body(good.Json);
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
