using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AppService.Admin;
using AppService.IntegrationTests.BotLifecycle;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Changes;

/// <summary>Membership history and members?at= answer what happened: pushed events, a resync, a redaction and a purge.</summary>
[Collection(ChangeFeedAlone.Name)]
public sealed class MembershipHistoryTests(BotLifecycleApplication app) : IClassFixture<BotLifecycleApplication>
{
    [Fact]
    public async Task History_and_members_at_a_time_follow_joins_a_rename_a_resync_a_redaction_and_the_purge()
    {
        string room = NewRoomId();
        var synced = await app.JoinedAndSyncedRoomAsync(room);

        var bobJoin = Member(room, Bob, "join", displayname: "Bob");
        await app.PushOkAsync(bobJoin);
        var bobRename = Member(room, Bob, "join", displayname: "Bobby");
        await app.PushOkAsync(bobRename);

        // The homeserver knows Carol joined (we missed it): a resync brings her in.
        var carol = Member(room, Carol, "join", displayname: "Carol");
        long firstResync = (await app.WaitForCompletedAsync(room, "resync")).Id;
        app.Stub.SetState(room, [.. synced.Values, bobRename, carol]);
        using (var resync = await app.Admin().PostAsync($"/admin/v1/rooms/{Uri.EscapeDataString(room)}/resync", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, resync.StatusCode);
        }

        await app.WaitForCompletedAsync(room, "resync", after: firstResync);

        await app.PushOkAsync(BotEvents.Redaction(room, bobRename.Id()));
        var kick = Member(room, AppServiceApplication.BotUserId, "leave", sender: Alice);
        await app.PushOkAsync(kick);

        // The history reads the change log below the feed's watermark: a transaction left open anywhere on the cluster
        // (another test class's) holds it back for a moment, so wait for the entries rather than read once.
        var bob = await HistoryAsync(room, Bob, expected: 4);
        Assert.Equal(
            [
                ("join", null, "Bob", bobJoin.Id(), "event"),
                ("join", "join", "Bobby", bobRename.Id(), "event"),
                ("join", "join", null, bobRename.Id(), "redaction"),
                (null, "join", null, kick.Id(), "purge"),
            ],
            bob.Select(h => (h.Membership, h.PrevMembership, h.DisplayName, h.EventId, h.Cause)));
        Assert.Equal(
            [("join", null, "Carol", "resync"), (null, "join", null, "purge")],
            (await HistoryAsync(room, Carol, expected: 2)).Select(h => (h.Membership, h.PrevMembership, h.DisplayName, h.Cause)));
        Assert.Equal(
            [("join", null, "Alice", "resync"), (null, "join", null, "purge")],
            (await HistoryAsync(room, Alice, expected: 2)).Select(h => (h.Membership, h.PrevMembership, h.DisplayName, h.Cause)));

        // Who was in the room, and as what, at each step.
        Assert.DoesNotContain(await MembersAtAsync(room, bob[0].At.AddTicks(-10)), m => m.UserId == Bob);
        Assert.Equal("Bob", (await MembersAtAsync(room, bob[0].At)).Single(m => m.UserId == Bob).DisplayName);
        var beforeRedaction = await MembersAtAsync(room, bob[2].At.AddTicks(-10));
        Assert.Equal(
            [(Alice, "Alice"), (Bob, "Bobby"), (AppServiceApplication.BotUserId, null), (Carol, "Carol")],
            beforeRedaction.Select(m => (m.UserId, m.DisplayName)));
        Assert.Null((await MembersAtAsync(room, bob[2].At)).Single(m => m.UserId == Bob).DisplayName);
        Assert.Empty(await MembersAtAsync(room, bob[3].At));
        Assert.Empty(await MembersAtAsync(room, DateTimeOffset.UtcNow.AddDays(1)));
        Assert.Equal([Bob], (await MembersAtAsync(room, bob[1].At, "&membership=join&limit=1&from=" + PageToken(Alice))).Select(m => m.UserId));
    }

    [Fact]
    public async Task A_redactions_change_keeps_the_time_the_member_row_was_written_before_it()
    {
        string room = NewRoomId();
        await app.JoinedAndSyncedRoomAsync(room);
        var bobJoin = Member(room, Bob, "join", displayname: "Bob");
        await app.PushOkAsync(bobJoin);
        const string RowWritten = "SELECT updated_at FROM room_members WHERE room_id = $1 AND user_id = $2";
        var written = await app.QueryAsync<DateTime>(RowWritten, room, Bob);

        await app.PushOkAsync(BotEvents.Redaction(room, bobJoin.Id()));

        // members?at= answers a time before the redaction from this row's prev_ columns once the join's change has aged
        // out: its updated_at must be when the row was written, not when the redaction came.
        var change = await app.QueryAsync<DateTime[]>(
            "SELECT ARRAY[prev_updated_at, at] FROM change_log WHERE room_id = $1 AND user_id = $2 AND cause = 'redaction'", room, Bob);
        Assert.NotNull(change);
        var (prevUpdatedAt, at) = (change[0], change[1]);
        Assert.Equal(written, prevUpdatedAt);
        Assert.True(at > written, $"the redaction's change at {at:O}, the row written at {written:O}");
        Assert.True(await app.QueryAsync<DateTime>(RowWritten, room, Bob) > written); // the redaction rewrote the row
    }

    [Fact]
    public async Task Members_at_a_time_before_the_change_log_is_gone_and_a_bad_time_is_a_bad_request()
    {
        string room = NewRoomId();
        await app.PushOkAsync(Member(room, Alice, "join"));
        string path = $"/admin/v1/rooms/{Uri.EscapeDataString(room)}/members?at=";

        using var gone = await app.Admin().GetAsync(path + "2001-01-01T00:00:00Z");
        Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);
        var problem = (await gone.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.NotNull(problem["oldest_at"]);

        foreach (string bad in new[] { "yesterday", "2026-12-01", "2026-12-01T10:00:00", "2026-13-01T10:00:00Z" })
        {
            using var response = await app.Admin().GetAsync(path + Uri.EscapeDataString(bad));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.NotNull((await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!["at"]);
        }

        using var lower = await app.Admin().GetAsync(path + Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(1).ToString("yyyy-MM-dd't'HH:mm:ss.fff'z'")));
        Assert.Equal(HttpStatusCode.OK, lower.StatusCode);
    }

    private async Task<IReadOnlyList<MemberHistoryEntry>> HistoryAsync(string room, string user, int expected)
    {
        var deadline = DateTimeOffset.UtcNow + BotLifecycleApplication.Patience;
        while (true)
        {
            var changes = (await app.Admin().GetFromJsonAsync<MemberHistoryResponse>(
                $"/admin/v1/rooms/{Uri.EscapeDataString(room)}/members/{Uri.EscapeDataString(user)}/history"))!.Changes;
            if (changes.Count >= expected || DateTimeOffset.UtcNow > deadline)
            {
                return changes;
            }

            await Task.Delay(50);
        }
    }

    private async Task<IReadOnlyList<MemberResponse>> MembersAtAsync(string room, DateTimeOffset at, string extra = "")
    {
        string url = $"/admin/v1/rooms/{Uri.EscapeDataString(room)}/members?at={Uri.EscapeDataString(at.ToString("O"))}{extra}";
        using var response = await app.Admin().GetAsync(url);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {url}: {(int)response.StatusCode} {body}");
        return System.Text.Json.JsonSerializer.Deserialize<MembersResponse>(body)!.Members;
    }

    private static string PageToken(string userId) =>
        Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(userId)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
