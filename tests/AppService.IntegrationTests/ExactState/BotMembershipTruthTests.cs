using System.Text.Json.Nodes;
using AppService.IntegrationTests.BotLifecycle;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.ExactState;

/// <summary>
/// Issue 16 point 2: a resync is never skipped on a bot membership the projection made up; the homeserver's
/// <c>/joined_rooms</c> decides. Rooms we hold as not joined are settled (no member rows, not suspect) or resynced.
/// </summary>
public sealed class BotMembershipTruthTests(BotLifecycleApplication app) : IClassFixture<BotLifecycleApplication>
{
    private const string Bot = AppServiceApplication.BotUserId;

    private async Task<long> OperatorResyncAsync(string room)
    {
        long before = (await app.JobsAsync(room)).Select(j => j.Id).DefaultIfEmpty(0).Max();
        using var response = await app.Admin().PostAsync($"/admin/v1/rooms/{Uri.EscapeDataString(room)}/resync", null);
        response.EnsureSuccessStatusCode();
        return before;
    }

    [Fact]
    public async Task A_resync_of_a_room_we_hold_as_invited_runs_when_the_homeserver_says_the_bot_is_joined()
    {
        string room = NewRoomId();
        await app.JoinedAndSyncedRoomAsync(room, Member(room, Bob, "join", displayname: "Bob"));
        // What a backlog could leave behind: the bot "invited", its members gone, the room suspect.
        await app.ExecuteSqlAsync($"UPDATE rooms SET bot_membership = 'invite', suspect = true WHERE room_id = '{room}'; DELETE FROM room_members WHERE room_id = '{room}'");

        long before = await OperatorResyncAsync(room);
        var job = await app.WaitForCompletedAsync(room, "resync", after: before);

        var info = (await app.RoomAsync(room))!;
        Assert.Equal(("join", false), (info.BotMembership, info.Suspect));
        Assert.Equal([Alice, Bob, Bot], (await app.MembersAsync(room)).Select(m => m.UserId));
        Assert.Contains(app.Stub.RequestsTo("GET", "/_matrix/client/v3/joined_rooms"), r => r.At >= job.CreatedAt);
    }

    [Fact]
    public async Task A_resync_of_a_room_the_bot_left_settles_it_when_the_homeserver_agrees()
    {
        string room = NewRoomId();
        await app.JoinedAndSyncedRoomAsync(room);
        var kick = Member(room, Bot, "leave", sender: Alice);
        app.Stub.SetState(room, kick);
        await app.PushOkAsync(kick);
        await app.ExecuteSqlAsync($"UPDATE rooms SET suspect = true WHERE room_id = '{room}'; INSERT INTO room_members (room_id, user_id, membership, event_id, sender, updated_at) VALUES ('{room}', '@left-behind:test', 'join', '$x', '@left-behind:test', now())");

        int membersCalls = app.Stub.RequestsTo("GET", BotLifecycle.StubHomeserver.RoomPath(room, "members")).Count;
        long before = await OperatorResyncAsync(room);
        var job = await app.WaitForJobAsync(room, "resync", j => j.Id > before && j.CompletedAt is not null, "the resync of a room the bot left");

        Assert.Equal("skipped", job.Outcome);
        Assert.Contains("not joined", job.Detail, StringComparison.Ordinal);
        var info = (await app.RoomAsync(room))!;
        Assert.Equal(("leave", false), (info.BotMembership, info.Suspect));
        Assert.Empty(await app.MembersAsync(room));
        Assert.Equal("Synced name", info.Name);
        // The homeserver was asked for the bot's membership (as of its leave), and it agrees with ours: nothing changes.
        Assert.Equal(membersCalls + 1, app.Stub.RequestsTo("GET", BotLifecycle.StubHomeserver.RoomPath(room, "members")).Count);
        Assert.Contains("ours kept: leave", job.Detail, StringComparison.Ordinal);
    }
}

/// <summary>The drift side of point 2: the homeserver's <c>/joined_rooms</c> against ours, and a 403 from <c>/joined_members</c>.</summary>
public sealed class BotMembershipDriftTests(DriftCheckApplication app) : IClassFixture<DriftCheckApplication>
{
    private const string Bot = AppServiceApplication.BotUserId;

    [Fact]
    public async Task A_room_we_hold_as_left_that_the_homeserver_says_the_bot_is_joined_to_is_resynced()
    {
        string room = NewRoomId();
        await app.JoinedAndSyncedRoomAsync(room, Member(room, Bob, "join"));
        long before = (await app.QuietAsync(room)).Id; // no resync left open that would repair the room unseen
        await app.ExecuteSqlAsync($"UPDATE rooms SET bot_membership = 'leave' WHERE room_id = '{room}'; DELETE FROM room_members WHERE room_id = '{room}'");

        var job = await app.WaitForJobAsync(room, "resync", j => j.Id > before && j.Reason == "drift" && j.Outcome == "done", "a drift resync of the room");

        Assert.NotNull(job.CompletedAt);
        Assert.Equal("join", (await app.RoomAsync(room))!.BotMembership);
        Assert.Contains(Bob, (await app.MembersAsync(room)).Select(m => m.UserId));
    }

    [Fact]
    public async Task A_room_whose_joined_members_the_homeserver_refuses_is_bot_membership_drift_and_ends_purged()
    {
        string room = NewRoomId();
        var synced = await app.JoinedAndSyncedRoomAsync(room, Member(room, Bob, "join"));
        var clean = await app.QuietAsync(room); // no resync left open to settle the room first or absorb the drift's
        // On the homeserver the bot was kicked; the kick never reached us.
        app.Stub.Script("GET", BotLifecycle.StubHomeserver.RoomPath(room, "joined_members"),
            BotLifecycle.StubAnswer.MatrixError(403, "M_FORBIDDEN", "You are not in this room"));
        app.Stub.SetState(room, Member(room, Bot, "leave", sender: Alice).Replacing(synced[$"m.room.member|{Bot}"].Id()));

        var drift = await app.WaitForJobAsync(room, "drift_check", j => j.Id > clean.Id && j.Outcome == "drift" && j.Detail!.Contains("bot_membership", StringComparison.Ordinal), "a drift check that finds the bot's membership");
        await app.WaitForJobAsync(room, "resync", j => j.Id > drift.Id && j.Reason == "drift" && j.CompletedAt is not null, "the drift resync");

        var info = (await app.RoomAsync(room))!;
        Assert.Equal(("leave", false), (info.BotMembership, info.Suspect));
        Assert.Empty(await app.MembersAsync(room));
    }

    [Fact]
    public async Task A_state_reset_on_the_homeserver_is_found_labelled_state_reset_and_repaired()
    {
        string room = NewRoomId();
        var topic1 = State(room, "m.room.topic", new JsonObject { ["topic"] = "Before" });
        await app.JoinedAndSyncedRoomAsync(room, topic1);
        var topic2 = State(room, "m.room.topic", new JsonObject { ["topic"] = "After" }); // replaces topic1
        app.Stub.SetState(room, topic2);
        await app.PushOkAsync(topic2);
        Assert.Equal("After", (await app.RoomAsync(room))!.Topic);
        // Only a check queued after a clean one, with no resync open: a check in flight now could find the reset under
        // an earlier id, and its resync repair the room before any later check looked (DriftCheckApplication.QuietAsync).
        var clean = await app.QuietAsync(room);

        // A state reset: the homeserver's current topic goes back to topic1, and nothing is pushed.
        app.Stub.SetState(room, topic1);

        var drift = await app.WaitForJobAsync(room, "drift_check", j => j.Id > clean.Id && j.Outcome == "drift", "a drift check that finds the reset");
        Assert.EndsWith("found: state_reset", drift.Detail);
        await app.WaitForJobAsync(room, "resync", j => j.Id > drift.Id && j.Reason == "drift" && j.Outcome == "done", "the repairing resync");
        Assert.Equal("Before", (await app.RoomAsync(room))!.Topic);
    }
}
