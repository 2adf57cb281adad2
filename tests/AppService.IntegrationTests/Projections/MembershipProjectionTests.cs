using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Projections;

public sealed class MembershipProjectionTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    /// <summary>
    /// Every row of the transition table (facts 4.2): the previous membership is set up by a first event, the
    /// transition is a second event, and the stored row must carry the new membership, its event and its actor.
    /// </summary>
    [Theory]
    [InlineData("invite", "join", true)]
    [InlineData("invite", "leave", true)] // invite rejected
    [InlineData("invite", "leave", false)] // invite revoked
    [InlineData("invite", "ban", false)]
    [InlineData("invite", "knock", true)]
    [InlineData("join", "join", true)] // profile change
    [InlineData("join", "leave", true)] // left
    [InlineData("join", "leave", false)] // kicked
    [InlineData("join", "ban", false)] // kicked and banned
    [InlineData("leave", "invite", false)]
    [InlineData("leave", "join", true)]
    [InlineData("leave", "ban", false)]
    [InlineData("leave", "knock", true)]
    [InlineData("ban", "leave", false)] // unbanned
    [InlineData("knock", "invite", false)] // knock accepted
    [InlineData("knock", "leave", true)] // knock retracted
    [InlineData("knock", "leave", false)] // knock denied
    [InlineData("knock", "ban", false)]
    public async Task Each_membership_transition_of_the_spec_table_is_projected(string previous, string next, bool selfAction)
    {
        string room = NewRoomId();
        string actor = selfAction ? Bob : Alice;
        var first = Member(room, Bob, previous, sender: previous is "join" or "knock" or "leave" ? Bob : Alice, displayname: "Bob 1");
        var second = Member(room, Bob, next, sender: actor, displayname: next == "join" ? "Bob 2" : null,
            prevContent: new JsonObject { ["membership"] = previous });

        await app.PushOkAsync($"t-{room}-1", first);
        await app.PushOkAsync($"t-{room}-2", second);

        var row = await app.MemberAsync(room, Bob);
        Assert.NotNull(row);
        Assert.Equal(next, row.Membership);
        Assert.Equal(second.Id(), row.EventId);
        Assert.Equal(actor, row.Sender);
        Assert.Equal(next == "join" ? "Bob 2" : null, row.DisplayName);
    }

    [Fact]
    public async Task Join_after_join_changes_the_profile_and_keeps_the_membership()
    {
        string room = NewRoomId();
        await app.PushOkAsync("profile-1", Member(room, Bob, "join", displayname: "Bob", avatarUrl: "mxc://test/old"));
        await app.PushOkAsync("profile-2", Member(room, Bob, "join", displayname: "Robert", avatarUrl: "mxc://test/new"));

        var row = await app.MemberAsync(room, Bob);
        Assert.Equal(("join", "Robert", "mxc://test/new"), (row!.Membership, row.DisplayName, row.AvatarUrl));
        Assert.Equal(1, (await app.RoomAsync(room))!.JoinedMemberCount);
    }

    [Fact]
    public async Task Members_are_keyed_by_state_key_not_by_sender_and_user_rooms_follow()
    {
        string room1 = NewRoomId();
        string room2 = NewRoomId();
        await app.PushOkAsync("keyed-1", Member(room1, Carol, "invite", sender: Alice), Member(room2, Carol, "join"), Member(room1, Alice, "join"));

        Assert.Null(await app.MemberAsync(room1, Alice) is { Membership: "invite" } ? "wrong" : null);
        var carolRooms = await app.Admin().GetStringAsync($"/admin/v1/users/{Uri.EscapeDataString(Carol)}/rooms");
        var expected = new[] { (room1, "invite"), (room2, "join") }.OrderBy(r => r.Item1, StringComparer.Ordinal)
            .Select(r => $"{{\"room_id\":\"{r.Item1}\",\"membership\":\"{r.Item2}\"}}");
        Assert.Equal($"{{\"rooms\":[{string.Join(',', expected)}],\"next_batch\":null}}", carolRooms);
        var joinedOnly = await app.Admin().GetStringAsync($"/admin/v1/users/{Uri.EscapeDataString(Carol)}/rooms?membership=join");
        Assert.Equal($"{{\"rooms\":[{{\"room_id\":\"{room2}\",\"membership\":\"join\"}}],\"next_batch\":null}}", joinedOnly);
    }

    [Fact]
    public async Task The_bot_kicked_then_reinvited_loses_the_member_list_and_starts_again()
    {
        string room = NewRoomId();
        await app.PushOkAsync(
            "kick-1",
            Member(room, AppServiceApplication.BotUserId, "invite", sender: Alice),
            Member(room, AppServiceApplication.BotUserId, "join"),
            Member(room, Alice, "join", displayname: "Alice"),
            Member(room, Bob, "join"),
            Member(room, Carol, "invite", sender: Alice),
            State(room, "m.room.name", new JsonObject { ["name"] = "Kept" }));
        Assert.Equal(3, (await app.RoomAsync(room))!.JoinedMemberCount);

        await app.PushOkAsync("kick-2", Member(room, AppServiceApplication.BotUserId, "leave", sender: Alice));

        Assert.Empty(await app.MembersAsync(room));
        var kicked = await app.RoomAsync(room);
        Assert.Equal(("leave", "Kept", 0, 0), (kicked!.BotMembership, kicked.Name, kicked.JoinedMemberCount, kicked.InvitedMemberCount));
        var botRooms = await app.Admin().GetStringAsync($"/admin/v1/users/{Uri.EscapeDataString(Bob)}/rooms");
        Assert.DoesNotContain(room, botRooms, StringComparison.Ordinal);

        await app.PushOkAsync("kick-3", Member(room, AppServiceApplication.BotUserId, "invite", sender: Alice));
        Assert.Equal("invite", (await app.RoomAsync(room))!.BotMembership);
        Assert.Equal([AppServiceApplication.BotUserId], (await app.MembersAsync(room)).Select(m => m.UserId));

        await app.PushOkAsync("kick-4", Member(room, AppServiceApplication.BotUserId, "join"), Member(room, Bob, "leave"));
        var rejoined = await app.RoomAsync(room);
        Assert.Equal(("join", 1), (rejoined!.BotMembership, rejoined.JoinedMemberCount));
        Assert.Equal("leave", (await app.MemberAsync(room, Bob))!.Membership);
    }

    [Fact]
    public async Task The_bot_banned_in_the_middle_of_a_transaction_purges_what_came_before_and_keeps_what_came_after()
    {
        string room = NewRoomId();
        await app.PushOkAsync(
            "ban-1",
            Member(room, AppServiceApplication.BotUserId, "join"),
            Member(room, Alice, "join"),
            Member(room, AppServiceApplication.BotUserId, "ban", sender: Alice),
            Member(room, Bob, "join"));

        Assert.Equal([Bob], (await app.MembersAsync(room)).Select(m => m.UserId));
        Assert.Equal("ban", (await app.RoomAsync(room))!.BotMembership);
    }
}
