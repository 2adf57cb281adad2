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

        await app.PushOkAsync("other-1", State(other, "m.room.name", new JsonObject { ["name"] = "Other" })).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("Other", (await app.RoomAsync(other))!.Name);
        await Task.Delay(200);
        Assert.False(slowPush.IsCompleted, "the slow room's transaction waits for its lock");

        await transaction.RollbackAsync();
        using var slowResponse = await slowPush.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(slowResponse.IsSuccessStatusCode);
        Assert.Equal("Slow", (await app.RoomAsync(slow))!.Name);
    }
}
