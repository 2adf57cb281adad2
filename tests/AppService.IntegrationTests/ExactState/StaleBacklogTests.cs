using System.Text.Json.Nodes;
using AppService.IntegrationTests.BotLifecycle;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.ExactState;

/// <summary>
/// Issue 16 points 1 and 2: a resync's snapshot is the homeserver's state after events it has not pushed yet. When
/// that backlog arrives, its older events must not roll the room back, whether or not they carry
/// <c>unsigned.replaces_state</c>, and the bot's own stale membership events must not lose the room.
/// </summary>
public sealed class StaleBacklogTests(BotLifecycleApplication app) : IClassFixture<BotLifecycleApplication>
{
    private const string Bot = AppServiceApplication.BotUserId;

    [Fact]
    public async Task A_backlog_older_than_the_first_join_resync_does_not_bring_back_a_member_who_left()
    {
        string room = NewRoomId();
        // The homeserver already has @bob's join and leave; neither was pushed yet when the bot's join resyncs.
        var bobJoin = Member(room, Bob, "join", displayname: "Bob");
        var bobLeave = Member(room, Bob, "leave").Replacing(bobJoin.Id());
        await app.JoinedAndSyncedRoomAsync(room, bobLeave);
        Assert.Equal("leave", (await app.MemberAsync(room, Bob))!.Membership);
        var firstResync = (await app.JobsAsync(room)).Where(j => j.Kind == "resync").Max(j => j.Id);

        // The backlog: the first event of @bob's key (no replaces_state), then its successor (already in the snapshot).
        // The follow-up resync is held at /members so the state in between can be read.
        var held = app.Stub.Hold("GET", BotLifecycle.StubHomeserver.RoomPath(room, "members"));
        await app.PushOkAsync(bobJoin, bobLeave);

        Assert.Equal("leave", (await app.MemberAsync(room, Bob))!.Membership);
        var info = (await app.RoomAsync(room))!;
        Assert.True(info.Suspect, "a state event that does not follow what we hold must mark the room suspect");
        await held.Reached.WaitAsync(BotLifecycleApplication.Patience);
        held.Release();
        await app.WaitForCompletedAsync(room, "resync", after: firstResync);
        Assert.Equal("leave", (await app.MemberAsync(room, Bob))!.Membership);
        Assert.False((await app.RoomAsync(room))!.Suspect);
    }

    [Fact]
    public async Task A_stale_topic_with_a_replaces_state_older_than_the_snapshot_is_not_applied()
    {
        string room = NewRoomId();
        var topic1 = State(room, "m.room.topic", new JsonObject { ["topic"] = "first" });
        var topic2 = State(room, "m.room.topic", new JsonObject { ["topic"] = "second" }).Replacing(topic1.Id());
        var topic3 = State(room, "m.room.topic", new JsonObject { ["topic"] = "third" }).Replacing(topic2.Id());
        await app.JoinedAndSyncedRoomAsync(room, topic3);
        Assert.Equal("third", (await app.RoomAsync(room))!.Topic);

        await app.PushOkAsync(topic1, topic2);

        Assert.Equal("third", (await app.RoomAsync(room))!.Topic);
        await app.PushOkAsync(topic3); // a duplicate of the snapshot's event
        Assert.Equal("third", (await app.RoomAsync(room))!.Topic);
    }

    [Fact]
    public async Task The_bots_own_kick_reinvite_and_rejoin_older_than_the_snapshot_do_not_lose_the_room()
    {
        string room = NewRoomId();
        var bobJoin = Member(room, Bob, "join", displayname: "Bob");
        var synced = await app.JoinedAndSyncedRoomAsync(room, bobJoin);
        string firstJoin = synced[$"m.room.member|{Bot}"].Id();

        // On the homeserver the bot was kicked, re-invited and re-joined; the snapshot of an operator's resync shows
        // the re-join, and only then does the backlog of the three events arrive.
        var kick = Member(room, Bot, "leave", sender: Alice).Replacing(firstJoin);
        var reinvite = Member(room, Bot, "invite", sender: Alice).Replacing(kick.Id());
        var rejoin = Member(room, Bot, "join").Replacing(reinvite.Id());
        app.Stub.SetState(room, synced.Values.Where(e => e["state_key"]!.GetValue<string>() != Bot).Append(rejoin).ToArray());
        long before = (await app.JobsAsync(room)).Max(j => j.Id);
        using (var response = await app.Admin().PostAsync($"/admin/v1/rooms/{Uri.EscapeDataString(room)}/resync", null))
        {
            response.EnsureSuccessStatusCode();
        }

        await app.WaitForCompletedAsync(room, "resync", after: before);
        long afterOperator = (await app.JobsAsync(room)).Max(j => j.Id);

        await app.PushOkAsync(kick, reinvite, rejoin);

        var info = (await app.RoomAsync(room))!;
        Assert.Equal("join", info.BotMembership);
        Assert.Equal("join", (await app.MemberAsync(room, Bob))!.Membership);
        await app.WaitForCompletedAsync(room, "resync", after: afterOperator);
        info = (await app.RoomAsync(room))!;
        Assert.Equal(("join", false), (info.BotMembership, info.Suspect));
        Assert.Equal("join", (await app.MemberAsync(room, Bob))!.Membership);
    }

    [Fact]
    public async Task A_state_event_that_follows_what_we_hold_is_applied_and_leaves_the_room_trusted()
    {
        string room = NewRoomId();
        var synced = await app.JoinedAndSyncedRoomAsync(room);
        var rename = State(room, "m.room.name", new JsonObject { ["name"] = "Renamed" }).Replacing(synced["m.room.name|"].Id());
        var aliceAway = Member(room, Alice, "join", displayname: "Alice (away)").Replacing(synced[$"m.room.member|{Alice}"].Id());
        var carol = Member(room, Carol, "join"); // first event of its key: nothing held, nothing to contradict

        await app.PushOkAsync(rename, aliceAway, carol);

        var info = (await app.RoomAsync(room))!;
        Assert.Equal(("Renamed", false), (info.Name, info.Suspect));
        Assert.Equal("Alice (away)", (await app.MemberAsync(room, Alice))!.DisplayName);
        Assert.Equal("join", (await app.MemberAsync(room, Carol))!.Membership);
    }
}
