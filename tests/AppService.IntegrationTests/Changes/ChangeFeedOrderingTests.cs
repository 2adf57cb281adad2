using AppService.Data;
using AppService.IntegrationTests.Infrastructure;
using AppService.Projections;
using Npgsql;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Changes;

/// <summary>
/// The feed's guarantee against the one way a sequence-ordered log loses rows: positions are drawn inside
/// transactions, so a smaller position can commit after larger ones. A cursor "position &gt; token" then steps
/// over it for good.
/// </summary>
[Collection(ChangeFeedAlone.Name)]
public sealed class ChangeFeedOrderingTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    [Fact]
    public async Task A_change_that_commits_after_changes_with_larger_positions_is_delivered_exactly_once()
    {
        var follower = new FeedFollower();
        await follower.PollAsync(app.Admin());

        // A writer that, like the ingest and the resync, takes its room's lock and appends its change row, then stays
        // open: its row has the smallest position of this test.
        string heldRoom = NewRoomId();
        await using var writer = new NpgsqlConnection(app.ConnectionString);
        await writer.OpenAsync();
        await using var held = await writer.BeginTransactionAsync();
        await using (var batch = new NpgsqlBatch(writer, held))
        {
            batch.BatchCommands.Add(SqlParameters.Command(IngestSql.LockKeys, SqlParameters.BigintArray([IngestSql.LockKey("room", heldRoom)])));
            var row = new RoomMember(heldRoom, "@held:test", "join") { EventId = NewEventId(), Sender = "@held:test" };
            batch.BatchCommands.Add(ChangeSql.InsertChangesCommand(new ChangeSet([new MemberChange(heldRoom, row.UserId, row, null, ChangeCauses.Event)], [])));
            await batch.ExecuteNonQueryAsync();
        }

        long heldPosition;
        await using (var command = new NpgsqlCommand("SELECT max(position) FROM change_log", writer, held))
        {
            heldPosition = (long)(await command.ExecuteScalarAsync())!;
        }

        // Meanwhile three transactions of other rooms commit: larger positions, committed first.
        string[] later = ["@later0:test", "@later1:test", "@later2:test"];
        foreach (string user in later)
        {
            await app.PushOkAsync("order-" + Guid.NewGuid().ToString("N"), Member(NewRoomId(), user, "join"));
        }

        Assert.Equal(3, await app.ScalarAsync($"SELECT count(*) FROM change_log WHERE position > {heldPosition} AND user_id LIKE '@later%'"));

        // The consumer reads while the first writer is still open (twice: a naive cursor moves past the held row here).
        await follower.PollAsync(app.Admin());
        await follower.PollAsync(app.Admin());

        await held.CommitAsync();

        string[] expected = ["@held:test", .. later];
        await follower.UntilAsync(
            app.Admin,
            () => expected.All(u => follower.Seen.Any(c => c.UserId == u)),
            () => $"expected {string.Join(", ", expected)}; got {string.Join(", ", follower.Seen.Select(c => c.UserId))} (next_batch {follower.Token})");

        // Exactly once each, and in the writers' order for the row that committed late: before every later one.
        Assert.All(expected, u => Assert.Single(follower.Seen, c => c.UserId == u));
        int heldIndex = follower.Seen.FindIndex(c => c.UserId == "@held:test");
        Assert.All(later, u => Assert.True(follower.Seen.FindIndex(c => c.UserId == u) > heldIndex, $"{u} came before the held change"));

        // Nothing else arrives for them later either.
        await follower.PollAsync(app.Admin());
        Assert.All(expected, u => Assert.Single(follower.Seen, c => c.UserId == u));
    }

    [Fact]
    public async Task Positions_are_strictly_increasing_and_next_batch_of_an_empty_answer_is_the_token_sent()
    {
        await app.PushOkAsync("inc-" + Guid.NewGuid().ToString("N"), Member(NewRoomId(), Alice, "join"), Member(NewRoomId(), Bob, "join"));
        var follower = new FeedFollower();
        while (await follower.PollAsync(app.Admin(), limit: 1) > 0)
        {
        }

        var tokens = follower.Seen.Select(c => c.Position).ToList();
        Assert.True(tokens.Count >= 2);
        Assert.Equal(tokens.Count, tokens.Distinct().Count());
        string? before = follower.Token;
        Assert.Equal(0, await follower.PollAsync(app.Admin()));
        Assert.Equal(before, follower.Token);
    }
}
