using System.Text.Json.Nodes;
using AppService.IntegrationTests.BotLifecycle;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.ExactState;

/// <summary>
/// Member events are stored once (issue 19): <c>room_state</c> holds no <c>m.room.member</c> rows, and what we hold
/// for a member key is its member row (<c>room_members.event_id</c> and <c>sender</c>). The stale-event rule, the
/// redactions and the resync must behave exactly as when the key was also in <c>room_state</c>.
/// </summary>
public sealed class MemberStateOnceTests(BotLifecycleApplication app) : IClassFixture<BotLifecycleApplication>
{
    private const string Bot = AppServiceApplication.BotUserId;

    private Task<long> MemberStateRowsAsync(string room) =>
        app.ScalarAsync($"SELECT count(*) FROM room_state WHERE room_id = '{room}' AND event_type = 'm.room.member'");

    [Fact]
    public async Task Member_events_write_no_room_state_rows()
    {
        string room = NewRoomId();
        var create = State(room, "m.room.create", new JsonObject { ["room_version"] = "11" });
        var alice = Member(room, Alice, "join", displayname: "Alice");
        var bob = Member(room, Bob, "invite", sender: Alice);
        await app.PushOkAsync(create, alice, bob);
        var renamed = Member(room, Alice, "join", displayname: "Alice 2"); // names the join it replaces
        await app.PushOkAsync(renamed);

        Assert.Equal(0, await MemberStateRowsAsync(room));
        Assert.Equal(1, await app.ScalarAsync($"SELECT count(*) FROM room_state WHERE room_id = '{room}'")); // the create
        var aliceRow = (await app.MemberAsync(room, Alice))!;
        Assert.Equal((renamed.Id(), "Alice 2", Alice), (aliceRow.EventId, aliceRow.DisplayName, aliceRow.Sender));
        Assert.Equal((bob.Id(), Alice), ((await app.MemberAsync(room, Bob))!.EventId, (await app.MemberAsync(room, Bob))!.Sender));
        Assert.False((await app.RoomAsync(room))!.Suspect);
    }

    [Fact]
    public async Task A_resync_writes_the_member_rows_and_no_member_rows_in_room_state()
    {
        string room = NewRoomId();
        var state = await app.JoinedAndSyncedRoomAsync(room, Member(room, Bob, "invite", sender: Alice));

        Assert.Equal(0, await MemberStateRowsAsync(room));
        Assert.Equal(2, await app.ScalarAsync($"SELECT count(*) FROM room_state WHERE room_id = '{room}'")); // create and name
        Assert.Equal(state[$"m.room.member|{Alice}"].Id(), (await app.MemberAsync(room, Alice))!.EventId);
        Assert.Equal(state[$"m.room.member|{Bot}"].Id(), (await app.MemberAsync(room, Bot))!.EventId);

        // The snapshot's member events are recorded as processed with their state key (a redaction finds them).
        Assert.Equal(Alice, await app.QueryAsync<string>("SELECT state_key FROM processed_events WHERE event_id = $1", state[$"m.room.member|{Alice}"].Id()));
    }

    [Fact]
    public async Task A_member_event_that_follows_the_stored_member_row_applies()
    {
        string room = NewRoomId();
        var state = await app.JoinedAndSyncedRoomAsync(room);

        await app.PushOkAsync(Member(room, Alice, "join", displayname: "Alice again").Replacing(state[$"m.room.member|{Alice}"].Id()));

        Assert.Equal("Alice again", (await app.MemberAsync(room, Alice))!.DisplayName);
        Assert.False((await app.RoomAsync(room))!.Suspect);
    }

    [Fact]
    public async Task A_member_event_naming_another_event_than_the_stored_member_row_is_stale_and_marks_the_room_suspect()
    {
        string room = NewRoomId();
        await app.JoinedAndSyncedRoomAsync(room);
        var firstResync = (await app.JobsAsync(room)).Where(j => j.Kind == "resync").Max(j => j.Id);

        // The follow-up resync is held at /members so the state in between can be read.
        var held = app.Stub.Hold("GET", StubHomeserver.RoomPath(room, "members"));
        await app.PushOkAsync(Member(room, Alice, "leave").Replacing("$an-event-we-never-held"));

        var alice = (await app.MemberAsync(room, Alice))!;
        Assert.Equal(("join", "Alice"), (alice.Membership, alice.DisplayName));
        Assert.True((await app.RoomAsync(room))!.Suspect, "a member event that does not follow the member row must mark the room suspect");
        await held.Reached.WaitAsync(BotLifecycleApplication.Patience);
        held.Release();
        await app.WaitForCompletedAsync(room, "resync", after: firstResync);
        Assert.Equal("join", (await app.MemberAsync(room, Alice))!.Membership);
        Assert.False((await app.RoomAsync(room))!.Suspect);
        Assert.Equal(0, await MemberStateRowsAsync(room));
    }

    [Fact]
    public async Task A_redaction_of_a_current_member_event_strips_the_member_row()
    {
        string room = NewRoomId();
        var state = await app.JoinedAndSyncedRoomAsync(room);
        string aliceJoin = state[$"m.room.member|{Alice}"].Id();

        await app.PushOkAsync(BotEvents.Redaction(room, aliceJoin));

        var alice = (await app.MemberAsync(room, Alice))!;
        Assert.Equal(("join", (string?)null, aliceJoin), (alice.Membership, alice.DisplayName, alice.EventId));
        Assert.Equal(0, await app.ScalarAsync($"SELECT count(*) FROM pending_redactions WHERE target_event_id = '{aliceJoin}'"));
    }

    [Fact]
    public async Task A_redaction_of_a_current_member_event_we_hold_no_processed_row_for_strips_the_member_row()
    {
        string room = NewRoomId();
        var state = await app.JoinedAndSyncedRoomAsync(room);
        string aliceJoin = state[$"m.room.member|{Alice}"].Id();
        await app.ExecuteSqlAsync($"DELETE FROM processed_events WHERE event_id = '{aliceJoin}'"); // as retention prunes it

        await app.PushOkAsync(BotEvents.Redaction(room, aliceJoin));

        var alice = (await app.MemberAsync(room, Alice))!;
        Assert.Equal(("join", (string?)null, aliceJoin), (alice.Membership, alice.DisplayName, alice.EventId));
        Assert.Equal(0, await app.ScalarAsync($"SELECT count(*) FROM pending_redactions WHERE target_event_id = '{aliceJoin}'"));
    }

    [Fact]
    public async Task After_the_bot_left_a_member_event_is_first_sight_again()
    {
        string room = NewRoomId();
        await app.JoinedAndSyncedRoomAsync(room);

        await app.PushOkAsync(Member(room, Bot, "leave", sender: Alice));
        Assert.Empty(await app.MembersAsync(room));

        await app.PushOkAsync(Member(room, Alice, "leave").Replacing("$an-event-purged-with-the-room"));

        Assert.Equal("leave", (await app.MemberAsync(room, Alice))!.Membership);
        Assert.False((await app.RoomAsync(room))!.Suspect);
    }
}
