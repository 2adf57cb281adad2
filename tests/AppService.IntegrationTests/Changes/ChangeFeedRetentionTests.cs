using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AppService.Admin;
using AppService.Data;
using AppService.IntegrationTests.Infrastructure;
using AppService.Projections;
using Npgsql;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Changes;

/// <summary>
/// Retention against the consumers that follow the feed: a filtered consumer of a quiet room is not left behind
/// the horizon, and a cursor behind it is a 410.
/// </summary>
[Collection(ChangeFeedAlone.Name)]
public sealed class ChangeFeedRetentionTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    [Fact]
    public async Task A_consumer_filtered_to_a_quiet_room_moves_past_other_rooms_changes_and_survives_retention()
    {
        string quiet = NewRoomId();
        string path = $"/admin/v1/changes?room_id={Uri.EscapeDataString(quiet)}&limit=10";
        await app.PushOkAsync("quiet-" + Guid.NewGuid().ToString("N"), Member(quiet, Alice, "join"));
        string token = (await UntilAsync(path, page => page.Changes.Any(c => c.Kind == "member"), "the quiet room's changes")).NextBatch;

        // Other rooms keep writing; the quiet room does not.
        string busy = NewRoomId();
        for (int i = 0; i < 3; i++)
        {
            await app.PushOkAsync("busy-" + Guid.NewGuid().ToString("N"), Member(busy, $"@busy{i}:test", "join"));
        }

        var busyLast = await LastChangeOfRoomAsync(busy, expected: 3);

        // The filtered consumer reads an empty page; the other room's changes are below the watermark (the unfiltered
        // feed handed them out), so they are final and its next_batch may move past them.
        var empty = await ReadAsync($"{path}&from={token}");
        Assert.Empty(empty.Changes);
        token = empty.NextBatch;

        // Retention deletes everything up to the other room's last change: the filtered consumer's token is still kept.
        await app.ExecuteSqlAsync(
            $"UPDATE change_log SET at = at - interval '40 days' WHERE (xid, position) <= ('{busyLast.Xid}'::xid8, {busyLast.Position})");
        using (var prune = await app.Admin().PostAsync("/admin/v1/maintenance/prune", null))
        {
            Assert.True((await prune.Content.ReadFromJsonAsync<JsonObject>())!["changes_deleted"]!.GetValue<long>() >= 4);
        }

        using (var after = await app.Admin().GetAsync($"{path}&from={token}"))
        {
            Assert.True(after.StatusCode == HttpStatusCode.OK, $"from={token} after the prune: {(int)after.StatusCode} {await after.Content.ReadAsStringAsync()}");
        }

        Assert.True(FeedToken.TryParse(token, out var moved) && moved >= busyLast, $"next_batch {token} is not past the other room's {busyLast}");

        // And it still gets the quiet room's next change.
        await app.PushOkAsync("quiet-" + Guid.NewGuid().ToString("N"), Member(quiet, Bob, "join"));
        var next = await UntilAsync($"{path}&from={token}", page => page.Changes.Count > 0, "the quiet room's second change");
        Assert.Equal(Bob, Assert.Single(next.Changes, c => c.Kind == "member").UserId);
    }

    [Fact]
    public async Task Retention_never_moves_the_horizon_past_a_writer_still_open_whose_change_is_read_once_it_commits()
    {
        // Writer A, like the ingest and the resync: takes its room's lock, appends its change row, and stays open.
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

        FeedToken heldKey;
        await using (var command = new NpgsqlCommand("SELECT xid::text || '_' || position FROM change_log WHERE room_id = $1", writer, held))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = heldRoom });
            Assert.True(FeedToken.TryParse((string)(await command.ExecuteScalarAsync())!, out heldKey));
        }

        // Writer B (a larger xid) commits meanwhile, and every committed row is made old.
        await app.PushOkAsync("after-held-" + Guid.NewGuid().ToString("N"), Member(NewRoomId(), Carol, "join"));
        await app.ExecuteSqlAsync("UPDATE change_log SET at = at - interval '40 days'");
        using (var prune = await app.Admin().PostAsync("/admin/v1/maintenance/prune", null))
        {
            Assert.Equal(HttpStatusCode.OK, prune.StatusCode);
        }

        Assert.True(FeedToken.TryParse(await app.QueryAsync<string>("SELECT xid::text || '_' || position FROM change_log_horizon"), out var horizon));
        Assert.True(horizon < heldKey, $"the horizon {horizon} moved past the open writer's change {heldKey}");

        // A commits: its change is after the horizon, and a consumer starting there reads it.
        await held.CommitAsync();
        var follower = new FeedFollower();
        await follower.UntilAsync(app.Admin, () => follower.Seen.Any(c => c.RoomId == heldRoom), () => $"the held change {heldKey} (horizon {horizon})");
        Assert.Equal(heldKey.ToString(), Assert.Single(follower.Seen, c => c.RoomId == heldRoom).Position);
    }

    [Fact]
    public async Task A_history_page_whose_from_retention_has_since_deleted_is_410_with_the_oldest_token()
    {
        string room = NewRoomId();
        await app.PushOkAsync("history-1-" + Guid.NewGuid().ToString("N"), Member(room, Alice, "join", displayname: "Alice"));
        await app.PushOkAsync("history-2-" + Guid.NewGuid().ToString("N"), Member(room, Alice, "join", displayname: "Alicia"));
        await app.PushOkAsync("history-3-" + Guid.NewGuid().ToString("N"), Member(room, Alice, "leave"));
        string path = $"/admin/v1/rooms/{Uri.EscapeDataString(room)}/members/{Uri.EscapeDataString(Alice)}/history";
        var (all, first) = await HistoryAndFirstPageAsync(path, 3);

        // Retention deletes the first two entries (and everything before them) between the two pages.
        Assert.True(FeedToken.TryParse(all[1].Position, out var second));
        await app.ExecuteSqlAsync($"UPDATE change_log SET at = at - interval '40 days' WHERE (xid, position) <= ('{second.Xid}'::xid8, {second.Position})");
        using (var prune = await app.Admin().PostAsync("/admin/v1/maintenance/prune", null))
        {
            Assert.True((await prune.Content.ReadFromJsonAsync<JsonObject>())!["changes_deleted"]!.GetValue<long>() >= 2);
        }

        using var gone = await app.Admin().GetAsync($"{path}?limit=1&from={first.NextBatch}");
        Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);
        var problem = (await gone.Content.ReadFromJsonAsync<JsonObject>())!;
        string oldest = problem["oldest_token"]!.GetValue<string>();
        Assert.True(FeedToken.TryParse(oldest, out var horizon) && horizon >= second, $"oldest_token {oldest}");

        // From the oldest token, and without one, the history is what was kept: the leave.
        foreach (string query in new[] { $"?from={oldest}", "" })
        {
            var kept = (await app.Admin().GetFromJsonAsync<MemberHistoryResponse>(path + query))!;
            Assert.Equal([all[2].Position], kept.Changes.Select(c => c.Position));
        }
    }

    [Fact]
    public async Task A_prune_between_two_history_pages_that_deletes_only_what_was_read_is_not_a_410()
    {
        // Alice's first entry, then a change of another user, then Alice's second entry. The prune deletes the first
        // two: the horizon moves past the entry page 1 ended with, but not to the entry page 2 starts with. Nothing
        // of Alice's history is lost, so page 2 answers it (a next_batch that was the last entry's own key was a 410).
        string room = NewRoomId();
        await app.PushOkAsync("history-a-" + Guid.NewGuid().ToString("N"), Member(room, Alice, "join", displayname: "Alice"));
        await app.PushOkAsync("history-b-" + Guid.NewGuid().ToString("N"), Member(room, Bob, "join", displayname: "Bob"));
        var bobs = await LastChangeOfRoomAsync(room, 2);
        await app.PushOkAsync("history-c-" + Guid.NewGuid().ToString("N"), Member(room, Alice, "join", displayname: "Alicia"));
        string path = $"/admin/v1/rooms/{Uri.EscapeDataString(room)}/members/{Uri.EscapeDataString(Alice)}/history";
        var (all, first) = await HistoryAndFirstPageAsync(path, 2);

        await app.ExecuteSqlAsync($"UPDATE change_log SET at = at - interval '40 days' WHERE (xid, position) <= ('{bobs.Xid}'::xid8, {bobs.Position})");
        using (var prune = await app.Admin().PostAsync("/admin/v1/maintenance/prune", null))
        {
            Assert.True((await prune.Content.ReadFromJsonAsync<JsonObject>())!["changes_deleted"]!.GetValue<long>() >= 2);
        }

        Assert.True(FeedToken.TryParse(all[0].Position, out var alices));
        var horizon = await app.QueryAsync<string>("SELECT xid::text || '_' || position FROM change_log_horizon");
        Assert.True(FeedToken.TryParse(horizon, out var h) && h > alices && h >= bobs, $"the horizon {horizon} is past Alice's first entry");

        using var next = await app.Admin().GetAsync($"{path}?limit=1&from={first.NextBatch}");
        string body = await next.Content.ReadAsStringAsync();
        Assert.True(next.StatusCode == HttpStatusCode.OK, $"page 2 from {first.NextBatch}: {(int)next.StatusCode} {body}");
        var second = (await next.Content.ReadFromJsonAsync<MemberHistoryResponse>())!;
        Assert.Equal([all[1].Position], second.Changes.Select(c => c.Position));
    }

    /// <summary>
    /// The whole history at <paramref name="path"/> once it has <paramref name="expected"/> entries (the watermark may
    /// hold a commit back for a moment), and its first page of one entry, which must have a next page.
    /// </summary>
    private async Task<(IReadOnlyList<MemberHistoryEntry> All, MemberHistoryResponse First)> HistoryAndFirstPageAsync(string path, int expected)
    {
        var deadline = DateTimeOffset.UtcNow + FeedFollower.Patience;
        IReadOnlyList<MemberHistoryEntry> all;
        while ((all = (await app.Admin().GetFromJsonAsync<MemberHistoryResponse>(path))!.Changes).Count < expected)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"the history has {all.Count} entries, not {expected}");
            await Task.Delay(50);
        }

        var first = (await app.Admin().GetFromJsonAsync<MemberHistoryResponse>($"{path}?limit=1"))!;
        Assert.Equal(all[0].Position, Assert.Single(first.Changes).Position);
        Assert.NotNull(first.NextBatch);
        return (all, first);
    }

    /// <summary>The token of the last change of <paramref name="roomId"/>, once the unfiltered feed has <paramref name="expected"/> member changes of it.</summary>
    private async Task<FeedToken> LastChangeOfRoomAsync(string roomId, int expected)
    {
        var follower = new FeedFollower();
        await follower.UntilAsync(app.Admin, () => follower.Seen.Count(c => c.RoomId == roomId && c.Kind == "member") == expected, () => $"{expected} member changes of {roomId}");
        Assert.True(FeedToken.TryParse(follower.Seen.Last(c => c.RoomId == roomId).Position, out var last));
        return last;
    }

    private async Task<ChangesResponse> ReadAsync(string url)
    {
        using var response = await app.Admin().GetAsync(url);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {url}: {(int)response.StatusCode} {body}");
        return System.Text.Json.JsonSerializer.Deserialize<ChangesResponse>(body)!;
    }

    /// <summary>Reads <paramref name="url"/> until <paramref name="done"/> holds (the watermark may hold a commit back for a moment).</summary>
    private async Task<ChangesResponse> UntilAsync(string url, Func<ChangesResponse, bool> done, string what)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var page = await ReadAsync(url);
            if (done(page))
            {
                return page;
            }

            Assert.True(DateTimeOffset.UtcNow < deadline, $"GET {url} never answered {what}; last next_batch {page.NextBatch}");
            await Task.Delay(50);
        }
    }
}
