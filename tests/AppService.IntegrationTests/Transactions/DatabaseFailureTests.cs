using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Transactions;

/// <summary>
/// Failures are injected into the real database: a trigger on room_members raises while a counter (a sequence, which
/// a rollback does not undo) says so. The error strikes in the middle of the transaction, after processed_events
/// rows were inserted, so everything before it must roll back.
/// </summary>
public sealed class DatabaseFailureTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    private async Task FailNextMemberWritesAsync(int times, string sqlState)
    {
        await app.ExecuteSqlAsync($"""
            DROP TRIGGER IF EXISTS inject_fault ON room_members;
            DROP SEQUENCE IF EXISTS fault_counter;
            CREATE SEQUENCE fault_counter;
            CREATE OR REPLACE FUNCTION inject_fault() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('fault_counter') <= {times} THEN
                    RAISE EXCEPTION 'injected fault' USING ERRCODE = '{sqlState}';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER inject_fault BEFORE INSERT OR UPDATE ON room_members FOR EACH ROW EXECUTE FUNCTION inject_fault();
            """);
    }

    private Task RemoveFaultAsync() => app.ExecuteSqlAsync("DROP TRIGGER IF EXISTS inject_fault ON room_members;");

    [Fact]
    public async Task A_one_off_non_transient_failure_is_rolled_back_and_the_safety_net_applies_every_event_once()
    {
        string room = NewRoomId();
        var events = new[]
        {
            State(room, "m.room.name", new JsonObject { ["name"] = "Doomed" }),
            Member(room, Alice, "join"),
            Message(room, Alice, "hello"),
        };
        await FailNextMemberWritesAsync(times: 1, sqlState: "XX000");
        try
        {
            // The whole transaction fails once (rolled back); the safety net re-applies it in groups, which succeed.
            await app.PushOkAsync("fail-1", events);
        }
        finally
        {
            await RemoveFaultAsync();
        }

        Assert.Equal("Doomed", (await app.RoomAsync(room))!.Name);
        Assert.Equal("join", (await app.MemberAsync(room, Alice))!.Membership);
        await using var check = app.CreateDbContext();
        Assert.Equal(3, await check.ProcessedEvents.CountAsync(e => e.TxnId == "fail-1"));
        Assert.False(await check.RejectedEvents.AnyAsync(e => e.TxnId == "fail-1"));
        Assert.Equal(3, (await check.Ledger.SingleAsync(l => l.TxnId == "fail-1")).NewEventCount);
    }

    [Fact]
    public async Task A_serialization_failure_is_retried_inside_the_request_and_applied_once()
    {
        string room = NewRoomId();
        await FailNextMemberWritesAsync(times: 1, sqlState: "40001");
        try
        {
            await app.PushOkAsync("serial-1", Member(room, Alice, "join", displayname: "Alice"));
        }
        finally
        {
            await RemoveFaultAsync();
        }

        Assert.Equal("Alice", (await app.MemberAsync(room, Alice))!.DisplayName);
        await using var db = app.CreateDbContext();
        Assert.Equal(1, await db.ProcessedEvents.CountAsync(e => e.TxnId == "serial-1"));
    }

    [Fact]
    public async Task Serialization_failures_that_outlast_the_retries_answer_503_and_acknowledge_nothing()
    {
        string room = NewRoomId();
        await FailNextMemberWritesAsync(times: 100, sqlState: "40001");
        try
        {
            using var response = await app.PushAsync("serial-2", Member(room, Alice, "join"));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("M_UNKNOWN", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errcode").GetString());
            await using var db = app.CreateDbContext();
            Assert.False(await db.ProcessedEvents.AnyAsync(e => e.TxnId == "serial-2"));
        }
        finally
        {
            await RemoveFaultAsync();
        }

        await app.PushOkAsync("serial-2", Member(room, Alice, "join"));
        Assert.Equal("join", (await app.MemberAsync(room, Alice))!.Membership);
    }
}

/// <summary>The service pointed at a database that does not answer.</summary>
public sealed class UnreachableDatabaseApplication : AppServiceApplication
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("AppService:MigrateOnStartup", "false"),
    ];

    // A port nothing listens on: every connection attempt is refused.
    protected override Task<string> CreateDatabaseAsync(PostgresServer postgres) =>
        Task.FromResult("Host=127.0.0.1;Port=1;Username=postgres;Database=none;Timeout=2");
}

public sealed class UnreachableDatabaseTests(UnreachableDatabaseApplication app) : IClassFixture<UnreachableDatabaseApplication>
{
    [Fact]
    public async Task An_unreachable_database_answers_503_M_UNKNOWN_so_the_homeserver_retries()
    {
        using var response = await app.PushAsync("down-1", Member(NewRoomId(), Alice, "join"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("M_UNKNOWN", body.GetProperty("errcode").GetString());
    }
}
