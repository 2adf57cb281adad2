using System.Net;
using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Transactions;

public sealed class TransactionIngestTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    [Fact]
    public async Task The_events_of_one_transaction_share_one_processing_order_after_every_one_taken_before_it()
    {
        // The resync race rule (Projections.Resync) compares a row's processing order with one taken before a fetch:
        // the events of one transaction commit together, so one number per transaction keeps the rule exact.
        string room = NewRoomId();
        long before = await app.QueryAsync<long>("SELECT nextval('processing_order')");
        await app.PushOkAsync("order-1", Member(room, Alice, "join"), State(room, "m.room.name", new JsonObject { ["name"] = "N" }), Message(room, Alice, "m"));
        long between = await app.QueryAsync<long>("SELECT nextval('processing_order')");
        await app.PushOkAsync("order-2", Member(room, Bob, "join"));

        var first = await SeqsAsync("order-1");
        long second = Assert.Single(await SeqsAsync("order-2"));
        Assert.Equal(3, first.Count);
        long order = Assert.Single(first.Distinct());
        Assert.True(before < order && order < between && between < second, $"{before} < {order} < {between} < {second}");
    }

    private async Task<List<long>> SeqsAsync(string txnId)
    {
        var seqs = new List<long>();
        await using var connection = new Npgsql.NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT seq FROM processed_events WHERE txn_id = $1", connection);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = txnId });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            seqs.Add(reader.GetInt64(0));
        }

        return seqs;
    }

    [Fact]
    public async Task Same_txn_sent_twice_in_sequence_is_applied_once()
    {
        string room = NewRoomId();
        var join = Member(room, Alice, "join", displayname: "Alice");
        var rename = State(room, "m.room.name", new JsonObject { ["name"] = "First" });
        await app.PushOkAsync("seq-1", join, rename);
        var before = await app.MemberAsync(room, Alice);

        await app.PushOkAsync("seq-1", join, rename);

        var after = await app.MemberAsync(room, Alice);
        Assert.Equal(before, after);
        await using var db = app.CreateDbContext();
        Assert.Equal(2, await db.ProcessedEvents.CountAsync(e => e.TxnId == "seq-1"));
        var ledger = await db.Ledger.SingleAsync(l => l.TxnId == "seq-1");
        Assert.Equal(2, ledger.NewEventCount);
        Assert.Equal(ledger.FirstSeenAt, ledger.LastProcessedAt);
    }

    [Fact]
    public async Task Same_txn_sent_8_times_concurrently_is_applied_once_and_every_copy_gets_200()
    {
        string room = NewRoomId();
        var poison = Member(room, "@poison:test", "join");
        poison["content"]!.AsObject().Remove("membership");
        var events = Enumerable.Range(0, 40)
            .Select(i => i % 2 == 0 ? Member(room, $"@u{i}:test", "join") : Message(room, $"@u{i - 1}:test", $"hi {i}"))
            .Append(poison)
            .ToArray();

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => app.PushAsync("concurrent-1", events)));

        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("{}", await response.Content.ReadAsStringAsync());
        }

        await using var db = app.CreateDbContext();
        Assert.Equal(40, await db.ProcessedEvents.CountAsync(e => e.TxnId == "concurrent-1"));
        Assert.Equal(1, await db.RejectedEvents.CountAsync(e => e.TxnId == "concurrent-1"));
        var ledger = await db.Ledger.SingleAsync(l => l.TxnId == "concurrent-1");
        Assert.Equal(40, ledger.NewEventCount);
        Assert.Equal(20, (await app.MembersAsync(room, "join")).Count);
    }

    [Fact]
    public async Task Same_event_in_two_different_transactions_is_applied_once()
    {
        string room = NewRoomId();
        var first = State(room, "m.room.name", new JsonObject { ["name"] = "Old name" });
        var second = State(room, "m.room.name", new JsonObject { ["name"] = "New name" });
        await app.PushOkAsync("dup-a", first);

        // Synapse#11447: an event already delivered comes back in a later transaction, after a newer one.
        await app.PushOkAsync("dup-b", second, first);

        Assert.Equal("New name", (await app.RoomAsync(room))!.Name);
        await using var db = app.CreateDbContext();
        var stored = await db.ProcessedEvents.SingleAsync(e => e.EventId == first.Id());
        Assert.Equal("dup-a", stored.TxnId);
        Assert.Equal(1, (await db.Ledger.SingleAsync(l => l.TxnId == "dup-b")).NewEventCount);
    }

    [Fact]
    public async Task Reused_txn_id_with_new_events_processes_the_new_events()
    {
        string room = NewRoomId();
        await app.PushOkAsync("reused-1", Member(room, Alice, "join"));

        // Synapse on SQLite restarts its ids; Dendrite re-sends a txnId with more events.
        var bob = Member(room, Bob, "join", displayname: "Bob");
        await app.PushOkAsync("reused-1", Member(room, Carol, "invite", sender: Alice), bob);

        var members = await app.MembersAsync(room);
        Assert.Equal([Alice, Bob, Carol], members.Select(m => m.UserId).Order(StringComparer.Ordinal));
        Assert.Equal("invite", members.Single(m => m.UserId == Carol).Membership);
        Assert.Contains(app.Logs.Lines, l => l.Contains("reused-1 was seen before with other events", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_poison_event_among_good_ones_is_rejected_and_the_rest_applied()
    {
        string room = NewRoomId();
        var poison = Member(room, Bob, "join");
        poison["content"]!["membership"] = 5;
        var noType = Message(room, Alice, "no type");
        noType.Remove("type");
        var tooBig = Message(room, Alice, new string('x', 70_000));

        await app.PushOkAsync("poison-1", Member(room, Alice, "join"), poison, noType, tooBig, Member(room, Carol, "join"));

        Assert.Equal([Alice, Carol], (await app.MembersAsync(room)).Select(m => m.UserId).Order(StringComparer.Ordinal));
        await using var db = app.CreateDbContext();
        var rejected = await db.RejectedEvents.Where(r => r.TxnId == "poison-1").OrderBy(r => r.Id).ToListAsync();
        Assert.Equal(3, rejected.Count);
        Assert.Contains("membership", rejected[0].Reason, StringComparison.Ordinal);
        Assert.Equal(poison.Id(), rejected[0].EventId);
        Assert.Contains("'type'", rejected[1].Reason, StringComparison.Ordinal);
        Assert.Contains("65536-byte limit", rejected[2].Reason, StringComparison.Ordinal);

        // The homeserver's retry of the same transaction changes nothing, and a re-send elsewhere is not stored twice.
        await app.PushOkAsync("poison-1", Member(room, Alice, "join"), poison, noType, tooBig, Member(room, Carol, "join"));
        await app.PushOkAsync("poison-2", poison);
        Assert.Equal(1, await db.RejectedEvents.CountAsync(r => r.EventId == poison.Id()));
    }

    [Fact]
    public async Task Events_are_applied_in_the_order_they_appear_in_the_transaction()
    {
        string room = NewRoomId();
        await app.PushOkAsync(
            "order-1",
            Member(room, Alice, "join", displayname: "A1"),
            State(room, "m.room.topic", new JsonObject { ["topic"] = "one" }),
            Member(room, Alice, "join", displayname: "A2"),
            Member(room, Bob, "invite", sender: Alice),
            State(room, "m.room.topic", new JsonObject { ["topic"] = "two" }),
            Member(room, Bob, "join"),
            Member(room, Alice, "leave"));

        Assert.Equal("two", (await app.RoomAsync(room))!.Topic);
        var alice = await app.MemberAsync(room, Alice);
        Assert.Equal("leave", alice!.Membership);
        Assert.Equal("join", (await app.MemberAsync(room, Bob))!.Membership);
    }

    [Fact]
    public async Task The_same_event_twice_in_one_transaction_is_applied_at_its_first_position()
    {
        string room = NewRoomId();
        var a = State(room, "m.room.name", new JsonObject { ["name"] = "A" });
        var b = State(room, "m.room.name", new JsonObject { ["name"] = "B" });

        await app.PushOkAsync("twice-1", a, b, a);

        Assert.Equal("B", (await app.RoomAsync(room))!.Name);
    }

    [Fact]
    public async Task A_transaction_with_no_events_is_acknowledged_and_recorded()
    {
        await app.PushOkAsync("empty-1");

        await using var db = app.CreateDbContext();
        Assert.Equal(0, (await db.Ledger.SingleAsync(l => l.TxnId == "empty-1")).EventCount);
    }

    [Fact]
    public async Task A_txn_id_longer_than_255_characters_is_accepted_and_stored_by_its_hash()
    {
        string txnId = new string('7', 290) + Guid.NewGuid().ToString("N");
        string room = NewRoomId();
        var join = Member(room, Alice, "join");
        await app.PushOkAsync(txnId, join);

        // The hash of this transaction's id (SHA-256 of its UTF-8 bytes), computed here, not by the service's code.
        string stored = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(txnId)));
        await using var db = app.CreateDbContext();
        var entry = await db.Ledger.SingleAsync(l => l.TxnId == stored);
        Assert.Equal((1, 1), (entry.EventCount, entry.NewEventCount));
        Assert.Equal(stored, (await db.ProcessedEvents.SingleAsync(e => e.EventId == join.Id())).TxnId);

    }
}
