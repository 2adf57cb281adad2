using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AppService.Admin;
using AppService.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.InputSafety;

/// <summary>
/// Issue 16 point 4, over HTTP on real PostgreSQL: only a bad id or key the service reads rejects an event. A property
/// name holding U+0000 or a lone surrogate where nothing is read, or a display value of the wrong type, must not
/// lose a leave, a kick of the bot or a join; an invite's stripped-state entry with a bad part leaves out that entry
/// only. Escapes JSON writers never produce are spliced into the serialized body in place of a marker.
/// </summary>
public sealed class UnreadPartsTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    private const string Nul = "@@NUL@@";
    private const string Lone = "@@LONE@@";
    private const string Bot = AppServiceApplication.BotUserId;

    private static string BodyOf(params JsonObject[] events) =>
        new JsonObject { ["events"] = new JsonArray(events.Select(e => (JsonNode)e.DeepClone()).ToArray()) }.ToJsonString()
            .Replace(Nul, "\\u0000", StringComparison.Ordinal)
            .Replace(Lone, "\\ud800", StringComparison.Ordinal);

    private async Task PutOkAsync(string body)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await app.Homeserver().PutAsync($"/_matrix/app/v1/transactions/up-{Guid.NewGuid():N}", content);
        Assert.Equal((HttpStatusCode.OK, "{}"), (response.StatusCode, await response.Content.ReadAsStringAsync()));
    }

    private async Task<int> RejectedCountAsync(string roomId)
    {
        var page = await app.Admin().GetFromJsonAsync<RejectedEventsPage>($"/admin/v1/rejected-events?room_id={Uri.EscapeDataString(roomId)}");
        return page!.RejectedEvents.Count;
    }

    [Theory]
    [InlineData(Nul)]
    [InlineData(Lone)]
    public async Task A_leave_whose_prev_content_holds_a_bad_property_name_still_shows_the_user_as_left(string poison)
    {
        // The homeserver copies the old profile's keys into prev_content: one bad profile update must not make the
        // user impossible to show as left.
        string room = NewRoomId();
        var join = Member(room, Bob, "join", displayname: "Bob");
        join["content"]!.AsObject()[$"x{poison}"] = "profile extra";
        var leave = Member(room, Bob, "leave");
        leave["unsigned"] = new JsonObject
        {
            ["replaces_state"] = join.Id(),
            ["prev_content"] = new JsonObject { ["membership"] = "join", ["displayname"] = "Bob", [$"x{poison}"] = "profile extra" },
            [$"u{poison}"] = new JsonObject { [$"n{poison}"] = 1 },
        };

        await PutOkAsync(BodyOf(join));
        Assert.Equal("join", (await app.MemberAsync(room, Bob))!.Membership);
        await PutOkAsync(BodyOf(leave));

        Assert.Equal("leave", (await app.MemberAsync(room, Bob))!.Membership);
        Assert.Equal(0, await RejectedCountAsync(room));
    }

    [Fact]
    public async Task A_kick_of_the_bot_with_a_bad_property_name_in_its_content_is_applied()
    {
        string room = NewRoomId();
        var botJoin = Member(room, Bot, "join");
        var kick = Member(room, Bot, "leave", sender: Alice);
        kick["content"]!.AsObject()[$"reason{Lone}"] = "spam";
        kick["content"]!.AsObject()["reason"] = new JsonObject { [Nul] = Lone };
        kick["unsigned"] = new JsonObject { ["replaces_state"] = botJoin.Id(), ["prev_content"] = new JsonObject { ["membership"] = "join", [Lone] = 1 } };

        await PutOkAsync(BodyOf(botJoin, Member(room, Alice, "join")));
        await PutOkAsync(BodyOf(kick));

        Assert.Equal("leave", (await app.RoomAsync(room))!.BotMembership);
        Assert.Equal(0, await RejectedCountAsync(room));
    }

    [Theory]
    [InlineData("5")]
    [InlineData("{\"text\":\"Eve\"}")]
    [InlineData("[\"Eve\"]")]
    [InlineData("true")]
    public async Task A_join_whose_displayname_is_not_a_string_counts_with_no_displayname(string value)
    {
        string room = NewRoomId();
        var join = Member(room, "@eve:test", "join");
        join["content"]!.AsObject()["displayname"] = JsonNode.Parse(value);
        join["content"]!.AsObject()["avatar_url"] = JsonNode.Parse(value);

        await PutOkAsync(BodyOf(join));

        var eve = (await app.MemberAsync(room, "@eve:test"))!;
        Assert.Equal(("join", null, null), (eve.Membership, eve.DisplayName, eve.AvatarUrl));
        Assert.Equal(1, (await app.RoomAsync(room))!.JoinedMemberCount);
        Assert.Equal(0, await RejectedCountAsync(room));
    }

    [Fact]
    public async Task An_invites_stripped_state_entry_with_a_bad_part_is_left_out_and_the_invite_and_the_other_entries_count()
    {
        string room = NewRoomId();
        var invite = Member(room, Bot, "invite", sender: Alice);
        invite["unsigned"] = new JsonObject
        {
            ["invite_room_state"] = new JsonArray(
                new JsonObject { ["type"] = "m.room.name", ["state_key"] = "", ["sender"] = $"@x{Nul}:test", ["content"] = new JsonObject { ["name"] = "Bad sender" } },
                new JsonObject { ["type"] = "m.room.topic", ["state_key"] = "", ["sender"] = Alice, ["content"] = new JsonObject { ["topic"] = "Kept", [Lone] = 1 } },
                new JsonObject { ["type"] = "m.room.join_rules", ["state_key"] = "", ["sender"] = Alice, ["content"] = new JsonObject { ["join_rule"] = "invite" }, [Nul] = 0 },
                new JsonObject { ["type"] = "m.room.create", ["state_key"] = "", ["sender"] = Alice, ["content"] = new JsonObject { ["room_version"] = "10", ["creator"] = Alice } }),
        };

        await PutOkAsync(BodyOf(invite));

        var info = (await app.RoomAsync(room))!;
        Assert.Equal(("invite", null, "Kept", "invite", "10", "stripped"),
            (info.BotMembership, info.Name, info.Topic, info.JoinRule, info.RoomVersion, info.StateSource));
        Assert.Equal(0, await RejectedCountAsync(room));
        await using var db = app.CreateDbContext();
        Assert.True(await db.ProcessedEvents.AnyAsync(e => e.EventId == invite.Id()));
    }
}
