using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AppService.Admin;
using AppService.IntegrationTests.Admin;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Changes;

/// <summary>GET /admin/v1/changes: its answers, its filters, the long poll, and what retention does to a cursor.</summary>
[Collection(ChangeFeedAlone.Name)]
public sealed class ChangeFeedApiTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    [Fact]
    public async Task A_member_change_and_a_room_change_read_as_the_issue_describes_them_and_a_duplicate_writes_nothing()
    {
        var follower = new FeedFollower();
        await follower.PollAsync(app.Admin(), limit: 1000);
        string room = NewRoomId();
        var join = Member(room, Alice, "join", displayname: "Alice");
        var name = State(room, "m.room.name", new JsonObject { ["name"] = "Ops" });
        await app.PushOkAsync("api-1", join, name);
        await app.PushOkAsync("api-1", join, name); // a replay
        await app.PushOkAsync("api-2", join); // a redelivery in another transaction
        await follower.UntilAsync(app.Admin, () => follower.Seen.Any(c => c.RoomId == room && c.Kind == "room"), () => "the room change");
        await follower.PollAsync(app.Admin());

        var mine = follower.Seen.Where(c => c.RoomId == room).ToList();
        Assert.Equal(2, mine.Count);
        var member = mine.Single(c => c.Kind == "member");
        Assert.Equal((Alice, "join", (string?)null, "Alice", join.Id(), "event"), (member.UserId, member.Membership, member.PrevMembership, member.DisplayName, member.EventId, member.Cause));
        var roomChange = mine.Single(c => c.Kind == "room");
        Assert.Equal((name.Id(), "event"), (roomChange.EventId, roomChange.Cause));
        Assert.Equal("""{"name":"Ops"}""", roomChange.Changed!.Value.GetRawText());
    }

    [Fact]
    public async Task Filters_by_room_and_kind_answer_only_those_changes()
    {
        string room = NewRoomId();
        await app.PushOkAsync("filter-" + Guid.NewGuid().ToString("N"), Member(room, Bob, "join"), Member(NewRoomId(), Bob, "join"),
            State(room, "m.room.topic", new JsonObject { ["topic"] = "t" }));

        var byRoom = (await app.Admin().GetFromJsonAsync<ChangesResponse>($"/admin/v1/changes?room_id={Uri.EscapeDataString(room)}"))!;
        Assert.Equal(["member", "room"], byRoom.Changes.Select(c => c.Kind).Order());
        Assert.All(byRoom.Changes, c => Assert.Equal(room, c.RoomId));

        var rooms = (await app.Admin().GetFromJsonAsync<ChangesResponse>($"/admin/v1/changes?room_id={Uri.EscapeDataString(room)}&kind=room"))!;
        Assert.Equal("t", Assert.Single(rooms.Changes).Changed!.Value.GetProperty("topic").GetString());
    }

    [Fact]
    public async Task A_long_poll_answers_when_a_change_commits_and_an_idle_one_answers_empty_with_the_same_token()
    {
        var follower = new FeedFollower();
        while (await follower.PollAsync(app.Admin(), limit: 1000) > 0)
        {
        }

        string token = follower.Token!;
        var idle = (await app.Admin().GetFromJsonAsync<ChangesResponse>($"/admin/v1/changes?from={token}&timeout=300"))!;
        Assert.Empty(idle.Changes);
        Assert.Equal(token, idle.NextBatch);

        // The poll is waiting (the gauge says so) when the change commits; it answers with it.
        string room = NewRoomId();
        var poll = app.Admin().GetFromJsonAsync<ChangesResponse>($"/admin/v1/changes?from={token}&timeout=30000&room_id={Uri.EscapeDataString(room)}");
        var deadline = DateTimeOffset.UtcNow + FeedFollower.Patience;
        while (global::AppService.Observability.AppServiceMetrics.ChangeFeedLongPolls.Value < 1)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "the long poll never started waiting");
            await Task.Delay(20);
        }

        Assert.False(poll.IsCompleted, "the long poll answered before anything changed");
        await app.PushOkAsync("poll-" + Guid.NewGuid().ToString("N"), Member(room, Carol, "join"));
        var answer = (await poll.WaitAsync(FeedFollower.Patience))!;
        Assert.Equal(Carol, Assert.Single(answer.Changes, c => c.Kind == "member").UserId);
    }

    [Theory]
    [InlineData("from=12", "from")]
    [InlineData("from=a_1", "from")]
    [InlineData("from=1_2_3", "from")]
    [InlineData("from=99999999999999999999999_1", "from")]
    [InlineData("timeout=-1", "timeout")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("kind=state", "kind")]
    public async Task A_bad_parameter_is_a_400_naming_it(string query, string parameter)
    {
        using var response = await app.Admin().GetAsync($"/admin/v1/changes?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull((await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]![parameter]);
    }

    [Fact]
    public async Task A_token_this_cluster_never_issued_is_a_400_naming_from_on_the_feed_and_the_history()
    {
        string room = NewRoomId();
        await app.PushOkAsync("unissued-" + Guid.NewGuid().ToString("N"), Member(room, Alice, "join"));
        long next = await app.ScalarAsync("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint");
        string history = $"/admin/v1/rooms/{Uri.EscapeDataString(room)}/members/{Uri.EscapeDataString(Alice)}/history";
        foreach (string token in new[] { "18446744073709551615_1", $"{next + 1000}_1" })
        {
            foreach (string url in new[] { $"/admin/v1/changes?from={token}", $"/admin/v1/changes?from={token}&timeout=300", $"{history}?from={token}" })
            {
                using var response = await app.Admin().GetAsync(url);
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"GET {url}: {(int)response.StatusCode}");
                Assert.NotNull((await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!["from"]);
            }
        }

        // A token below the next xid still reads (one a consumer holds, or one it made from a position).
        using var issued = await app.Admin().GetAsync($"/admin/v1/changes?from={next - 1}_0");
        Assert.Equal(HttpStatusCode.OK, issued.StatusCode);
    }

    [Fact]
    public async Task A_room_filter_with_U0000_is_refused_like_every_admin_parameter()
    {
        using var response = await app.Admin().GetAsync("/admin/v1/changes?room_id=%00");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_cursor_older_than_retention_kept_is_410_with_the_oldest_token_and_a_new_consumer_starts_there()
    {
        var follower = new FeedFollower();
        await app.PushOkAsync("old-" + Guid.NewGuid().ToString("N"), Member(NewRoomId(), Alice, "join"));
        while (await follower.PollAsync(app.Admin(), limit: 1000) > 0)
        {
        }

        string stale = follower.Seen[0].Position; // a consumer that stopped after the first change
        // Every change the follower has seen is made old; anything it has not seen yet (a change another test's
        // transaction was still committing, above the watermark while it polled) is not, so retention deletes exactly
        // the prefix the up-to-date follower has consumed.
        string[] last = follower.Seen[^1].Position.Split('_');
        await app.ExecuteSqlAsync($"UPDATE change_log SET at = at - interval '40 days' WHERE (xid, position) <= ('{last[0]}'::xid8, {last[1]})");
        string room = NewRoomId();
        await app.PushOkAsync("new-" + Guid.NewGuid().ToString("N"), Member(room, Bob, "join"));

        using (var prune = await app.Admin().PostAsync("/admin/v1/maintenance/prune", null))
        {
            Assert.True((await prune.Content.ReadFromJsonAsync<JsonObject>())!["changes_deleted"]!.GetValue<long>() >= 1);
        }

        using var gone = await app.Admin().GetAsync($"/admin/v1/changes?from={stale}");
        Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);
        var problem = (await gone.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Contains("snapshot", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        string oldest = problem["oldest_token"]!.GetValue<string>();

        // From the oldest token, and without one, the consumer gets exactly what was kept: the newer change.
        var fromOldest = (await app.Admin().GetFromJsonAsync<ChangesResponse>($"/admin/v1/changes?from={oldest}&limit=1000"))!;
        var fresh = (await app.Admin().GetFromJsonAsync<ChangesResponse>("/admin/v1/changes?limit=1000"))!;
        Assert.Equal(fresh.Changes.Select(c => c.Position), fromOldest.Changes.Select(c => c.Position));
        Assert.Contains(fresh.Changes, c => c.Kind == "member" && c.RoomId == room);
        Assert.DoesNotContain(fresh.Changes, c => follower.Seen.Any(seen => seen.Position == c.Position));

        // A follower that was up to date keeps going.
        await follower.UntilAsync(app.Admin, () => follower.Seen.Any(c => c.RoomId == room), () => "the change after the prune");
    }
}

/// <summary>Swagger explains the feed's routes as it does every admin route.</summary>
public sealed class ChangeFeedSwaggerTests(SwaggerEnabledApplication app) : IClassFixture<SwaggerEnabledApplication>
{
    [Fact]
    public async Task Swagger_documents_the_feed_its_parameters_its_fields_and_its_error_answers()
    {
        var document = System.Text.Json.JsonDocument.Parse(await app.CreateClient().GetStringAsync("/swagger/v1/swagger.json")).RootElement;
        var feed = document.GetProperty("paths").GetProperty("/admin/v1/changes").GetProperty("get");
        Assert.True(feed.GetProperty("responses").TryGetProperty("410", out _));
        Assert.True(feed.GetProperty("responses").TryGetProperty("400", out _));
        foreach (var parameter in feed.GetProperty("parameters").EnumerateArray())
        {
            Assert.False(string.IsNullOrWhiteSpace(parameter.GetProperty("description").GetString()), parameter.GetProperty("name").GetString());
        }

        var kind = feed.GetProperty("parameters").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "kind");
        Assert.Equal(["member", "room"], kind.GetProperty("schema").GetProperty("enum").EnumerateArray().Select(v => v.GetString()));
        var roomId = feed.GetProperty("parameters").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "room_id");
        Assert.DoesNotContain("job", roomId.GetProperty("description").GetString()!, StringComparison.Ordinal);

        var change = document.GetProperty("components").GetProperty("schemas").GetProperty("ChangeResponse").GetProperty("properties");
        Assert.Equal(["member", "room"], change.GetProperty("kind").GetProperty("enum").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(["event", "resync", "redaction", "purge"], change.GetProperty("cause").GetProperty("enum").EnumerateArray().Select(v => v.GetString()));

        var at = document.GetProperty("paths").GetProperty("/admin/v1/rooms/{roomId}/members").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .Single(p => p.GetProperty("name").GetString() == "at");
        Assert.Contains("RFC 3339", at.GetProperty("description").GetString()!, StringComparison.Ordinal);
        Assert.True(document.GetProperty("paths").GetProperty("/admin/v1/rooms/{roomId}/members/{userId}/history").GetProperty("get").GetProperty("responses").TryGetProperty("404", out _));
    }
}
