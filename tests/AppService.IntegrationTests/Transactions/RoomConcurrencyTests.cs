using System.Text.Json.Nodes;
using AppService.Data;
using AppService.IntegrationTests.Infrastructure;
using Npgsql;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Transactions;

/// <summary>Transactions for different rooms run concurrently: a slow room does not hold up the others.</summary>
public sealed class RoomConcurrencyTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    [Fact]
    public async Task A_room_whose_lock_is_held_does_not_hold_up_another_rooms_transaction()
    {
        string slow = NewRoomId();
        string other = NewRoomId();

        // Another session (a long resync write, a slow transaction on another replica) holds the slow room's lock.
        await using var holder = new NpgsqlConnection(app.ConnectionString);
        await holder.OpenAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", holder, transaction))
        {
            command.Parameters.AddWithValue(IngestSql.LockKey("room", slow));
            await command.ExecuteNonQueryAsync();
        }

        var slowPush = app.PushAsync("slow-1", State(slow, "m.room.name", new JsonObject { ["name"] = "Slow" }));

        // The slow room's transaction is seen waiting for that lock (a backend of this database whose advisory lock
        // is not granted) before the other room's transaction is sent, so the other one really overtakes it.
        await WaitForLockWaiterAsync(holder, transaction);

        await app.PushOkAsync("other-1", State(other, "m.room.name", new JsonObject { ["name"] = "Other" })).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal("Other", (await app.RoomAsync(other))!.Name);
        Assert.False(slowPush.IsCompleted, "the slow room's transaction waits for its lock");
        Assert.Equal(1, await LockWaitersAsync(holder, transaction));

        await transaction.RollbackAsync();
        using var slowResponse = await slowPush.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(slowResponse.IsSuccessStatusCode);
        Assert.Equal("Slow", (await app.RoomAsync(slow))!.Name);
    }

    /// <summary>Backends of this database waiting for an advisory lock (pg_locks: not granted).</summary>
    private static async Task<long> LockWaitersAsync(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()",
            connection, transaction);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task WaitForLockWaiterAsync(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60);
        while (await LockWaitersAsync(connection, transaction) == 0)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "no backend was seen waiting for the slow room's lock within 60 s");
            await Task.Delay(20);
        }
    }
}
