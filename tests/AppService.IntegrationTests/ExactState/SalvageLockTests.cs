using System.Text.Json.Nodes;
using AppService.Data;
using AppService.IntegrationTests.Infrastructure;
using Npgsql;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.ExactState;

/// <summary>
/// Issue 16 point 7: the safety net holds the transaction's lock across all its groups, so a concurrent copy of the
/// same transaction (a homeserver that timed out and retried) waits for the whole salvage instead of applying a later
/// group of its own between two of ours.
/// </summary>
public sealed class SalvageLockTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    private const long Gate = 4242;

    [Fact]
    public async Task A_concurrent_copy_of_a_transaction_being_salvaged_waits_for_the_whole_salvage()
    {
        // @poison's row can never be written (the whole transaction fails, the safety net takes over); @gate's second
        // write (its group's, after the whole attempt's) waits on an advisory lock the test holds.
        await app.ExecuteSqlAsync($"""
            DROP TRIGGER IF EXISTS salvage_gate ON room_members;
            DROP SEQUENCE IF EXISTS salvage_gate_counter;
            CREATE SEQUENCE salvage_gate_counter;
            CREATE OR REPLACE FUNCTION salvage_gate() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.user_id = '@poison:test' THEN
                    RAISE EXCEPTION 'poisoned row' USING ERRCODE = 'XX000';
                END IF;
                IF NEW.user_id = '@gate:test' AND nextval('salvage_gate_counter') = 2 THEN
                    PERFORM pg_advisory_lock({Gate});
                    PERFORM pg_advisory_unlock({Gate});
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER salvage_gate BEFORE INSERT OR UPDATE ON room_members FOR EACH ROW EXECUTE FUNCTION salvage_gate();
            """);
        string txnId = "salvage-" + Guid.NewGuid().ToString("N");
        long txnKey = IngestSql.LockKey("txn", txnId);
        string room = NewRoomId();
        var events = new[] { Member(room, "@gate:test", "join"), Member(room, "@poison:test", "join") };

        await using var gate = new NpgsqlConnection(app.ConnectionString);
        await gate.OpenAsync();
        await using (var hold = new NpgsqlCommand($"SELECT pg_advisory_lock({Gate})", gate))
        {
            await hold.ExecuteNonQueryAsync();
        }

        Task<HttpResponseMessage> first;
        Task<HttpResponseMessage> second;
        try
        {
            first = app.PushAsync(txnId, events);
            int blocked = await WaitForAsync(() => app.ScalarAsync(
                $"SELECT coalesce(min(pid), 0) FROM pg_locks WHERE locktype = 'advisory' AND objid = {(uint)Gate} AND NOT granted"), "the salvage's group to reach the gate");

            // The txn's lock is held, and not by the group's own transaction (that would end with the group).
            long holder = await app.ScalarAsync(
                $"SELECT coalesce(min(pid), 0) FROM pg_locks WHERE locktype = 'advisory' AND classid = {(uint)(txnKey >> 32)} AND objid = {(uint)txnKey} AND granted");
            Assert.NotEqual(0, holder);
            Assert.NotEqual(blocked, holder);

            second = app.PushAsync(txnId, events);
            await WaitForAsync(() => app.ScalarAsync(
                $"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = {(uint)(txnKey >> 32)} AND objid = {(uint)txnKey} AND NOT granted"), "the copy to wait for the txn's lock");
        }
        finally
        {
            await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({Gate})", gate);
            await release.ExecuteNonQueryAsync();
        }

        using var a = await first;
        using var b = await second;
        await app.ExecuteSqlAsync("DROP TRIGGER IF EXISTS salvage_gate ON room_members;");
        Assert.Equal((System.Net.HttpStatusCode.OK, System.Net.HttpStatusCode.OK), (a.StatusCode, b.StatusCode));
        Assert.Equal("join", (await app.MemberAsync(room, "@gate:test"))!.Membership);
        Assert.Null(await app.MemberAsync(room, "@poison:test"));
        Assert.Equal(1, await app.ScalarAsync($"SELECT count(*) FROM rejected_events WHERE event_id = '{events[1].Id()}'"));
    }

    private static async Task<int> WaitForAsync(Func<Task<long>> probe, string what)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (DateTimeOffset.UtcNow < deadline)
        {
            long value = await probe();
            if (value != 0)
            {
                return (int)value;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"Timed out waiting for {what}");
        return 0;
    }
}
