using System.Net;
using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Transactions;

/// <summary>The service with a pool of ONE database connection, so every request runs on the same physical connection.</summary>
public class SingleConnectionApplication : AppServiceApplication
{
    /// <summary>What the deployment's connection string sets for Max Auto Prepare (null: not set).</summary>
    protected virtual int? MaxAutoPrepare => null;

    protected override async Task<string> CreateDatabaseAsync(PostgresServer postgres)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(await base.CreateDatabaseAsync(postgres)) { MaxPoolSize = 1 };
        if (MaxAutoPrepare is { } max)
        {
            connectionString.MaxAutoPrepare = max;
        }

        return connectionString.ConnectionString;
    }

    /// <summary>Closes the pooled connection: the next request starts on a new one, with no statement prepared yet.</summary>
    public void StartOnAFreshConnection() => Services.GetRequiredService<NpgsqlDataSource>().Clear();
}

/// <summary>A deployment that turned Npgsql's automatic preparation on in its connection string.</summary>
public sealed class AutoPreparingSingleConnectionApplication : SingleConnectionApplication
{
    protected override int? MaxAutoPrepare => 32;
}

/// <summary>With the service's own database settings.</summary>
public sealed class ConnectionHygieneTests(SingleConnectionApplication app)
    : ConnectionHygieneTestsBase(app), IClassFixture<SingleConnectionApplication>;

/// <summary>With Max Auto Prepare set by the deployment: the known poison is live, the discarding must catch it.</summary>
public sealed class ConnectionHygieneWithAutoPrepareTests(AutoPreparingSingleConnectionApplication app)
    : ConnectionHygieneTestsBase(app), IClassFixture<AutoPreparingSingleConnectionApplication>;

/// <summary>
/// Issue 8, cause 4: a transaction that fails inside an ingest batch must not leave its connection serving later
/// requests in an unknown protocol state (see Data/AutoPrepareProtocolTests for the Npgsql behaviour behind it).
/// </summary>
public abstract class ConnectionHygieneTestsBase(SingleConnectionApplication app)
{
    private const string Poisoner = "@poison:test";

    [Fact]
    public async Task After_a_transaction_fails_on_the_fifth_use_of_the_ingest_statements_every_later_transaction_and_replay_is_read_correctly()
    {
        app.StartOnAFreshConnection();
        var rooms = new List<(string RoomId, string TxnId, JsonObject[] Events)>();
        for (int i = 0; i < 4; i++)
        {
            rooms.Add(await NamedRoomAsync($"warm-{i}"));
        }

        // The 5th run of the first batch is the one Npgsql auto-prepares; U+0000 in an event id is refused by
        // PostgreSQL at Bind (22021) on that very run. (Whether the service answers 500 or quarantines the event
        // does not matter here; what follows on the same connection does.)
        var poison = Member(NewRoomId(), Alice, "join");
        poison["event_id"] = "$poison\0" + Guid.NewGuid().ToString("N");
        using (var _ = await app.PushAsync("poison-" + Guid.NewGuid().ToString("N"), poison))
        {
        }

        // Replays of acknowledged transactions (the exactly-once insert returns no row), new transactions (it
        // returns rows), new events in known rooms: all answered 200 and applied exactly as sent.
        for (int i = 0; i < 4; i++)
        {
            var (roomId, txnId, events) = rooms[i];
            await app.PushOkAsync(txnId, events);
            rooms.Add(await NamedRoomAsync($"after-{i}"));
            string topic = $"topic {i}";
            await app.PushOkAsync("topic-" + Guid.NewGuid().ToString("N"),
                State(roomId, "m.room.topic", new JsonObject { ["topic"] = topic }), Member(roomId, Bob, "join", displayname: $"Bob {i}"));
            var room = (await app.RoomAsync(roomId))!;
            Assert.Equal((roomId, $"warm-{i}", topic, 2), (room.RoomId, room.Name, room.Topic, room.JoinedMemberCount));
            Assert.Equal($"Bob {i}", (await app.MemberAsync(roomId, Bob))!.DisplayName);
        }

        foreach (var (roomId, _, events) in rooms)
        {
            Assert.Equal(((string)events[0]["content"]!["name"]!), (await app.RoomAsync(roomId))!.Name);
            await using var db = app.CreateDbContext();
            Assert.Equal(events.Length, await db.ProcessedEvents.CountAsync(e => e.RoomId == roomId && events.Select(x => x.Id()).Contains(e.EventId)));
        }
    }

    [Fact]
    public async Task After_any_failure_inside_an_ingest_batch_the_connection_is_closed_instead_of_serving_the_next_request()
    {
        // A trigger records which backend wrote each member row (a sequence: a rollback does not undo setval) and
        // refuses one user's rows: the failure strikes while the second batch executes, not at Bind, and holds
        // however the input is validated.
        app.StartOnAFreshConnection();
        await app.ExecuteSqlAsync($"""
            DROP SEQUENCE IF EXISTS member_writer_pid;
            CREATE SEQUENCE member_writer_pid;
            CREATE OR REPLACE FUNCTION record_member_writer() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM setval('member_writer_pid', pg_backend_pid());
                IF NEW.user_id = '{Poisoner}' THEN
                    RAISE EXCEPTION 'refused by the test';
                END IF;
                RETURN NEW;
            END $$;
            DROP TRIGGER IF EXISTS record_member_writer ON room_members;
            CREATE TRIGGER record_member_writer BEFORE INSERT OR UPDATE ON room_members FOR EACH ROW EXECUTE FUNCTION record_member_writer();
            """);
        try
        {
            string room = NewRoomId();
            await app.PushOkAsync("ok-1-" + Guid.NewGuid().ToString("N"), Member(room, Alice, "join"));
            long healthy = await WriterPidAsync();
            await app.PushOkAsync("ok-2-" + Guid.NewGuid().ToString("N"), Member(room, Bob, "join"));
            Assert.Equal(healthy, await WriterPidAsync()); // a connection that did not fail is kept

            // The first attempt fails on the healthy connection; the safety net then applies the transaction again in
            // smaller groups (each failure discarding its connection) and quarantines the poisoner: 200.
            string failedTxn = "fail-" + Guid.NewGuid().ToString("N");
            using (var failed = await app.PushAsync(failedTxn, Member(room, Poisoner, "join"), Member(room, Carol, "join")))
            {
                Assert.Equal(HttpStatusCode.OK, failed.StatusCode);
            }

            await EventuallyGoneAsync(healthy);

            await app.PushOkAsync("ok-3-" + Guid.NewGuid().ToString("N"), Member(room, Carol, "join", displayname: "Carol"));
            Assert.NotEqual(healthy, await WriterPidAsync());
            Assert.Equal("Carol", (await app.MemberAsync(room, Carol))!.DisplayName);
            Assert.Null(await app.MemberAsync(room, Poisoner));
        }
        finally
        {
            await app.ExecuteSqlAsync("DROP TRIGGER IF EXISTS record_member_writer ON room_members;");
        }
    }

    private async Task<(string RoomId, string TxnId, JsonObject[] Events)> NamedRoomAsync(string name)
    {
        string roomId = NewRoomId();
        string txnId = "named-" + Guid.NewGuid().ToString("N");
        JsonObject[] events = [State(roomId, "m.room.name", new JsonObject { ["name"] = name }), Member(roomId, Alice, "join"), Message(roomId, Alice, "hi")];
        await app.PushOkAsync(txnId, events);
        return (roomId, txnId, events);
    }

    private Task<long> WriterPidAsync() => app.ScalarAsync("SELECT last_value FROM member_writer_pid");

    private async Task EventuallyGoneAsync(long pid)
    {
        for (int i = 0; i < 50; i++)
        {
            if (await app.ScalarAsync($"SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}") == 0)
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"backend {pid}, whose ingest batch failed, is still connected");
    }
}
