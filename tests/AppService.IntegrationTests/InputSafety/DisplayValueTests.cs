using System.Text.Json;
using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.InputSafety;

/// <summary>Display values and other projected strings: stored with U+0000 removed and lone surrogates replaced by U+FFFD, or their event rejected.</summary>
public sealed class DisplayValueTests(KestrelApplication app) : HostileInput(app), IClassFixture<KestrelApplication>
{
    [Fact]
    public async Task Nul_in_a_displayname_beside_a_good_event_is_applied_with_the_nul_removed()
    {
        string room = NewRoomId();
        var eve = Member(room, Alice, "join", displayname: $"Eve{Nul}");
        var bob = Member(room, Bob, "join", displayname: "Bob");

        await PutOkAsync(NewTxn(), BodyOf(eve, bob));

        Assert.Equal("Eve", (await App.MemberAsync(room, Alice))!.DisplayName);
        Assert.Equal("Bob", (await App.MemberAsync(room, Bob))!.DisplayName);
    }

    [Theory]
    [InlineData("m.room.member", "@eve:test", "displayname", "Eve\\u0000", "Eve")]
    [InlineData("m.room.member", "@eve:test", "displayname", "\\u0000Ev\\u0000e", "Eve")]
    [InlineData("m.room.member", "@eve:test", "displayname", "Eve\\ud800", "Eve\uFFFD")]
    [InlineData("m.room.member", "@eve:test", "displayname", "\\udc00Eve", "\uFFFDEve")]
    [InlineData("m.room.member", "@eve:test", "displayname", "Eve \\ud83d\\ude00", "Eve \ud83d\ude00")]
    [InlineData("m.room.member", "@eve:test", "avatar_url", "mxc://test/e\\u0000ve", "mxc://test/eve")]
    [InlineData("m.room.name", "", "name", "Na\\u0000me", "Name")]
    [InlineData("m.room.name", "", "name", "Na\\udc00me", "Na\uFFFDme")]
    [InlineData("m.room.topic", "", "topic", "To\\u0000pic\\ud800", "Topic\uFFFD")]
    public async Task A_display_value_with_NUL_or_a_lone_surrogate_is_stored_sanitised(string type, string stateKey, string key, string raw, string stored)
    {
        string room = NewRoomId(), txn = NewTxn(), id = NewEventId();
        var neighbour = Neighbour(room);
        string content = type == "m.room.member"
            ? "{\"membership\":\"join\",\"" + key + "\":\"" + raw + "\"}"
            : "{\"" + key + "\":\"" + raw + "\"}";
        await PutOkAsync(txn, RawEvents.Body(RawEvents.Event(id, room, type, stateKey, content, type == "m.room.member" ? "@eve:test" : Alice), neighbour.Json));

        await AssertAppliedAsync(id);
        await AssertAppliedAsync(neighbour.Id);
        string? actual = key switch
        {
            "displayname" => await DisplaynameAsync(room, "@eve:test"),
            "avatar_url" => await App.QueryAsync<string>("SELECT avatar_url FROM room_members WHERE room_id = $1 AND user_id = '@eve:test'", room),
            "name" => await App.QueryAsync<string>("SELECT name FROM rooms WHERE room_id = $1", room),
            _ => await App.QueryAsync<string>("SELECT topic FROM rooms WHERE room_id = $1", room),
        };
        Assert.Equal(stored, actual);
    }

    [Theory]
    [InlineData("name", "name")]
    [InlineData("topic", "topic")]
    [InlineData("canonical_alias", "alias")]
    [InlineData("avatar_url", "url")]
    [InlineData("join_rule", "join_rule")]
    [InlineData("history_visibility", "history_visibility")]
    [InlineData("encryption", "algorithm")]
    [InlineData("tombstone_successor", "replacement_room")]
    public async Task Nul_and_lone_surrogates_in_room_display_values_are_stored_cleaned(string field, string key)
    {
        string room = NewRoomId();
        string type = field switch
        {
            "name" => "m.room.name", "topic" => "m.room.topic", "canonical_alias" => "m.room.canonical_alias",
            "avatar_url" => "m.room.avatar", "join_rule" => "m.room.join_rules", "history_visibility" => "m.room.history_visibility",
            "encryption" => "m.room.encryption", _ => "m.room.tombstone",
        };
        var create = State(room, "m.room.create", new JsonObject { ["room_version"] = $"10{Nul}", ["creator"] = $"@c{Lone}:test", ["predecessor"] = new JsonObject { ["room_id"] = $"!old{Nul}:test" } });
        var e = State(room, type, new JsonObject { [key] = $"a{Nul}b{Lone}c" });

        await PutOkAsync(NewTxn(), BodyOf(create, e));

        var info = (await App.RoomAsync(room))!;
        var stored = JsonSerializer.SerializeToElement(info).GetProperty(field).GetString();
        Assert.Equal("ab\uFFFDc", stored);
        Assert.Equal("10", info.RoomVersion);
        Assert.Equal("@c\uFFFD:test", info.Creator);
        Assert.Equal("!old:test", info.PredecessorRoomId);
    }

    [Theory]
    [InlineData("m.room.canonical_alias", "{\"alias\":\"#a\\u0000:test\"}", "canonical_alias")]
    [InlineData("m.room.avatar", "{\"url\":\"mxc://test/\\u0000a\"}", "avatar_url")]
    [InlineData("m.room.join_rules", "{\"join_rule\":\"pub\\u0000lic\"}", "join_rule")]
    [InlineData("m.room.history_visibility", "{\"history_visibility\":\"shared\\u0000\"}", "history_visibility")]
    [InlineData("m.room.encryption", "{\"algorithm\":\"m.megolm.v1\\u0000\"}", "encryption")]
    [InlineData("m.room.tombstone", "{\"replacement_room\":\"!new\\u0000:test\",\"body\":\"moved\"}", "tombstone_successor")]
    [InlineData("m.room.create", "{\"creator\":\"@a\\u0000:test\",\"room_version\":\"9\"}", "creator")]
    [InlineData("m.room.create", "{\"room_version\":\"1\\u00000\"}", "room_version")]
    [InlineData("m.room.create", "{\"room_version\":\"10\",\"predecessor\":{\"room_id\":\"!old\\u0000:test\",\"event_id\":\"$e\"}}", "predecessor_room_id")]
    [InlineData("m.room.join_rules", "{\"join_rule\":\"public\\ud800\"}", "join_rule")]
    public async Task Another_projected_string_with_NUL_is_rejected_or_stored_without_it(string type, string content, string column)
    {
        string room = NewRoomId(), txn = NewTxn(), id = NewEventId();
        var neighbour = Neighbour(room);
        await PutOkAsync(txn, RawEvents.Body(neighbour.Json, RawEvents.Event(id, room, type, "", content)));

        await AssertAppliedAsync(neighbour.Id);
        bool applied = await ProcessedAsync(id);
        Assert.NotEqual(applied, await RejectedAsync(id));
        string? stored = await App.QueryAsync<string>($"SELECT {column} FROM rooms WHERE room_id = $1", room);
        Assert.False(stored is not null && (stored.Contains('\0', StringComparison.Ordinal) || HasLoneSurrogate(stored)), $"stored {column} {stored}");
    }

    [Fact]
    public async Task Invite_room_state_with_NUL_and_a_lone_surrogate_does_not_stop_the_invite()
    {
        string room = NewRoomId(), txn = NewTxn(), id = NewEventId();
        string stripped = "[{\"type\":\"m.room.name\",\"state_key\":\"\",\"sender\":\"@a:test\",\"content\":{\"name\":\"In\\u0000vite\"}},"
            + "{\"type\":\"m.room.topic\",\"state_key\":\"\",\"sender\":\"@a:test\",\"content\":{\"topic\":\"T\\ud800\"}},"
            + "{\"type\":\"m.room.join_rules\",\"state_key\":\"\\u0000\",\"sender\":\"@a\\udc00:test\",\"content\":{\"join_rule\":\"invite\"}}]";
        var neighbour = Neighbour(room);
        await PutOkAsync(txn, RawEvents.Body(
            RawEvents.Event(id, room, "m.room.member", AppServiceApplication.BotUserId, "{\"membership\":\"invite\"}", Alice, "{\"invite_room_state\":" + stripped + "}"),
            neighbour.Json));

        await AssertAppliedAsync(id);
        await AssertAppliedAsync(neighbour.Id);
        Assert.Equal("invite", await App.QueryAsync<string>("SELECT bot_membership FROM rooms WHERE room_id = $1", room));
        string? name = await App.QueryAsync<string>("SELECT name FROM rooms WHERE room_id = $1", room);
        Assert.True(name is null or "Invite", $"name {name}");
        string? topic = await App.QueryAsync<string>("SELECT topic FROM rooms WHERE room_id = $1", room);
        Assert.True(topic is null or "T\uFFFD", $"topic {topic}");
    }

    [Fact]
    public async Task A_lone_surrogate_in_invite_room_state_or_replaces_state_never_fails_the_transaction()
    {
        string room = NewRoomId();
        var invite = Member(room, AppServiceApplication.BotUserId, "invite", sender: Alice);
        invite["unsigned"] = new JsonObject
        {
            ["invite_room_state"] = new JsonArray(
                new JsonObject { ["type"] = "m.room.name", ["state_key"] = "", ["sender"] = Alice, ["content"] = new JsonObject { ["name"] = $"Na{Lone}me{Nul}" } },
                new JsonObject { ["type"] = "m.room.create", ["state_key"] = "", ["sender"] = $"@x{Nul}:test", ["content"] = new JsonObject { ["room_version"] = "11" } }),
        };
        var replaces = Member(room, Bob, "join");
        replaces["unsigned"] = new JsonObject { ["replaces_state"] = $"$old{Lone}" };
        string txn = NewTxn();

        await PutOkAsync(txn, BodyOf(invite, replaces));

        Assert.Equal("Na\uFFFDme", (await App.RoomAsync(room))!.Name);
        Assert.Null(await App.MemberAsync(room, Bob));
        var row = Assert.Single(await App.RejectedEventsAsync($"room_id={Uri.EscapeDataString(room)}"), r => r.TxnId == txn);
        Assert.Equal("invalid_string", row.ReasonCode);
    }
}
