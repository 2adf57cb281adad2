using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Projections;

public sealed class RoomInfoProjectionTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    [Fact]
    public async Task Room_info_fields_are_set_from_state_events()
    {
        string room = NewRoomId();
        await app.PushOkAsync(
            "info-1",
            State(room, "m.room.create", new JsonObject { ["room_version"] = "10", ["creator"] = Carol, ["type"] = "m.space", ["predecessor"] = new JsonObject { ["room_id"] = "!old:test" } }),
            State(room, "m.room.name", new JsonObject { ["name"] = "Name" }),
            State(room, "m.room.topic", new JsonObject { ["topic"] = "Topic" }),
            State(room, "m.room.canonical_alias", new JsonObject { ["alias"] = "#room:test", ["alt_aliases"] = new JsonArray("#other:test") }),
            State(room, "m.room.avatar", new JsonObject { ["url"] = "mxc://test/avatar" }),
            State(room, "m.room.join_rules", new JsonObject { ["join_rule"] = "knock" }),
            State(room, "m.room.history_visibility", new JsonObject { ["history_visibility"] = "joined" }),
            State(room, "m.room.encryption", new JsonObject { ["algorithm"] = "m.megolm.v1.aes-sha2", ["rotation_period_ms"] = 604800000 }),
            State(room, "m.room.tombstone", new JsonObject { ["replacement_room"] = "!new:test", ["body"] = "upgraded" }),
            State(room, "m.room.name", new JsonObject { ["name"] = "Not room state" }, stateKey: "not-empty"));

        var r = await app.RoomAsync(room);
        Assert.NotNull(r);
        Assert.Equal(
            ("Name", "Topic", "#room:test", "mxc://test/avatar", "knock", "joined", "m.megolm.v1.aes-sha2"),
            (r.Name, r.Topic, r.CanonicalAlias, r.AvatarUrl, r.JoinRule, r.HistoryVisibility, r.Encryption));
        Assert.Equal(("10", Carol, "m.space", "!old:test", "!new:test"), (r.RoomVersion, r.Creator, r.RoomType, r.PredecessorRoomId, r.TombstoneSuccessor));
    }

    [Fact]
    public async Task Empty_or_null_content_clears_each_field()
    {
        string room = NewRoomId();
        await app.PushOkAsync(
            "clear-1",
            State(room, "m.room.name", new JsonObject { ["name"] = "Name" }),
            State(room, "m.room.topic", new JsonObject { ["topic"] = "Topic" }),
            State(room, "m.room.canonical_alias", new JsonObject { ["alias"] = "#room:test" }),
            State(room, "m.room.avatar", new JsonObject { ["url"] = "mxc://test/avatar" }),
            State(room, "m.room.encryption", new JsonObject { ["algorithm"] = "m.megolm.v1.aes-sha2" }));

        await app.PushOkAsync(
            "clear-2",
            State(room, "m.room.name", new JsonObject { ["name"] = "" }),
            State(room, "m.room.topic", new JsonObject { ["topic"] = null }),
            State(room, "m.room.canonical_alias", new JsonObject()),
            State(room, "m.room.avatar", new JsonObject()),
            State(room, "m.room.encryption", new JsonObject()));

        // Encryption is the exception: it can never be turned off (clients keep encrypting).
        var r = await app.RoomAsync(room);
        Assert.Equal((null, null, null, null, "m.megolm.v1.aes-sha2"), (r!.Name, r.Topic, r.CanonicalAlias, r.AvatarUrl, r.Encryption));
    }

    [Fact]
    public async Task The_creator_is_the_sender_from_room_version_11()
    {
        string v11 = NewRoomId();
        string v1 = NewRoomId();
        await app.PushOkAsync(
            "creator-1",
            State(v11, "m.room.create", new JsonObject { ["room_version"] = "11" }, sender: Bob),
            State(v1, "m.room.create", new JsonObject { ["creator"] = Carol }, sender: Bob));

        Assert.Equal(("11", Bob), ((await app.RoomAsync(v11))!.RoomVersion, (await app.RoomAsync(v11))!.Creator));
        Assert.Equal([Bob], (await app.RoomAsync(v11))!.Creators);
        var old = await app.RoomAsync(v1);
        Assert.Equal(("1", Carol), (old!.RoomVersion, old.Creator));
    }

    [Fact]
    public async Task Room_v12_additional_creators_are_listed_in_creators()
    {
        string room = NewRoomId();
        await app.PushOkAsync(
            "creators-12",
            State(room, "m.room.create", new JsonObject { ["room_version"] = "12", ["additional_creators"] = new JsonArray(Carol) }, sender: Bob));

        var r = await app.RoomAsync(room);
        Assert.Equal(("12", Bob), (r!.RoomVersion, r.Creator));
        Assert.Equal([Bob, Carol], r.Creators);
    }

    [Fact]
    public async Task A_room_seen_only_through_messages_has_an_empty_room_info()
    {
        string room = NewRoomId();
        await app.PushOkAsync("msg-only-1", Message(room, Alice, "hi"));

        var r = await app.RoomAsync(room);
        Assert.Equal((null, null, 0, null), (r!.Name, r.Topic, r.JoinedMemberCount, r.BotMembership));
    }
}
