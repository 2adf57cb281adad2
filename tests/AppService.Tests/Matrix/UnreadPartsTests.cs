using System.Text.Json;
using AppService.Homeserver;
using AppService.Matrix;
using AppService.Projections;

namespace AppService.Tests.Matrix;

/// <summary>
/// Issue 16 point 4: only a bad id or key the service reads rejects an event. A property name holding U+0000 or a
/// lone surrogate where nothing is read (content, unsigned, unsigned.prev_content, nested objects) and a display value
/// of the wrong type never drop the event; the three paths (pushed, snapshot, stripped state) agree.
/// </summary>
public sealed class UnreadPartsTests : IDisposable
{
    private const string Room = "!room:hs.test";
    private const string Alice = "@alice:hs.test";

    private readonly Bodies _bodies = new();

    public void Dispose() => _bodies.Dispose();

    private static string Leave(string content = """{"membership":"leave"}""", string unsigned = "{}") =>
        $$"""{"event_id":"$leave","room_id":"{{Room}}","type":"m.room.member","sender":"{{Alice}}","state_key":"{{Alice}}","content":{{content}},"unsigned":{{unsigned}}}""";

    public static TheoryData<string> UnreadBadNames => new()
    {
        // The homeserver copies an old profile's keys into prev_content: one bad profile update must not make the leave unreadable.
        Leave(unsigned: """{"prev_content":{"membership":"join","\u0000":"x","displayname":"A"}}"""),
        Leave(unsigned: """{"prev_content":{"membership":"join","k\ud800":"x"}}"""),
        Leave(unsigned: """{"\udc00":1,"age":5}"""),
        Leave(content: """{"membership":"leave","\u0000reason":"bye"}"""),
        Leave(content: """{"membership":"leave","reason":{"\ud800":{"\u0000":[1]}}}"""),
        Leave(content: """{"membership":"leave","users":{"\ud800":100}}"""),
        Leave().Replace("\"content\"", "\"\\ud800top\":1,\"content\"", StringComparison.Ordinal),
    };

    [Theory]
    [MemberData(nameof(UnreadBadNames))]
    public void A_bad_property_name_where_nothing_is_read_never_rejects_the_event(string json)
    {
        var e = _bodies.Accepted(json);

        var (row, _) = MembershipProjector.Apply(null, e, DateTimeOffset.UnixEpoch);
        Assert.Equal((Alice, Memberships.Leave), (row.UserId, row.Membership));
    }

    [Theory]
    [MemberData(nameof(UnreadBadNames))]
    public void A_snapshot_entry_with_a_bad_property_name_where_nothing_is_read_is_used(string json)
    {
        var snapshot = Snapshots.ParseMembers(_bodies.Document($$"""{"chunk":[{{json}}]}""").RootElement, Room);

        Assert.Equal(0, snapshot.Skipped);
        Assert.Equal("$leave", Assert.Single(snapshot.Events).EventId);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("1e999999")]
    [InlineData("true")]
    [InlineData("{\"text\":\"A\"}")]
    [InlineData("[\"A\"]")]
    public void A_join_whose_profile_values_are_not_strings_counts_with_no_profile(string value)
    {
        var e = _bodies.Accepted(Leave(content: $$"""{"membership":"join","displayname":{{value}},"avatar_url":{{value}}}"""));

        var (row, _) = MembershipProjector.Apply(null, e, DateTimeOffset.UnixEpoch);
        Assert.Equal((Memberships.Join, null, null), (row.Membership, row.DisplayName, row.AvatarUrl));
    }

    [Theory]
    [InlineData("m.room.name", "name")]
    [InlineData("m.room.topic", "topic")]
    [InlineData("m.room.canonical_alias", "alias")]
    [InlineData("m.room.avatar", "url")]
    [InlineData("m.room.join_rules", "join_rule")]
    [InlineData("m.room.history_visibility", "history_visibility")]
    [InlineData("m.room.tombstone", "replacement_room")]
    public void A_room_display_value_that_is_not_a_string_is_projected_as_none(string type, string key)
    {
        var before = new RoomInfo(Room)
        {
            Name = "x", Topic = "x", CanonicalAlias = "x", AvatarUrl = "x", JoinRule = "x", HistoryVisibility = "x", TombstoneSuccessor = "x",
        };
        var e = _bodies.Accepted(
            $$$"""{"event_id":"$s","room_id":"{{{Room}}}","type":"{{{type}}}","sender":"{{{Alice}}}","state_key":"","content":{"{{{key}}}":{"a":5} } }""");

        var after = RoomInfoProjector.Apply(before, e, DateTimeOffset.UnixEpoch);

        string? field = type switch
        {
            EventTypes.Name => after.Name,
            EventTypes.Topic => after.Topic,
            EventTypes.CanonicalAlias => after.CanonicalAlias,
            EventTypes.Avatar => after.AvatarUrl,
            EventTypes.JoinRules => after.JoinRule,
            EventTypes.HistoryVisibility => after.HistoryVisibility,
            _ => after.TombstoneSuccessor,
        };
        Assert.Null(field);
    }

    [Fact]
    public void An_encryption_algorithm_that_is_not_a_string_keeps_the_room_encrypted()
    {
        var e = _bodies.Accepted(
            $$$"""{"event_id":"$s","room_id":"{{{Room}}}","type":"m.room.encryption","sender":"{{{Alice}}}","state_key":"","content":{"algorithm":5}}""");

        Assert.Equal("m.megolm.v1.aes-sha2", RoomInfoProjector.Apply(new RoomInfo(Room) { Encryption = "m.megolm.v1.aes-sha2" }, e, DateTimeOffset.UnixEpoch).Encryption);
    }

    [Theory]
    [InlineData("""{"membership":"\u0000join"}""", RejectionCodes.InvalidString)]
    [InlineData("""{"membership":5}""", RejectionCodes.WrongType)]
    [InlineData("""{"membership":"dance"}""", RejectionCodes.WrongType)]
    public void A_bad_membership_is_read_so_it_still_rejects_the_event(string content, string code)
    {
        var (e, rejected) = _bodies.Event(Leave(content: content));

        Assert.Null(e);
        Assert.Equal(code, rejected!.Code);
    }

    [Theory]
    [InlineData("""{"room_version":5}""")]
    [InlineData("""{"room_version":"10","creator":[]}""")]
    public void A_create_whose_version_or_creator_is_not_a_string_is_rejected(string content)
    {
        var (e, rejected) = _bodies.Event(
            $$"""{"event_id":"$c","room_id":"{{Room}}","type":"m.room.create","sender":"{{Alice}}","state_key":"","content":{{content}}}""");

        Assert.Null(e);
        Assert.Equal(RejectionCodes.WrongType, rejected!.Code);
    }

    [Fact]
    public void Power_levels_with_a_user_id_holding_a_lone_surrogate_or_nul_leave_out_that_user_only()
    {
        var content = _bodies.Document("""{"users":{"@a\ud800:hs.test":100,"@b\u0000:hs.test":100,"@mod:hs.test":"60","@x:hs.test":"\ud800"},"redact":"\ud800"}""").RootElement;

        var levels = PowerLevels.FromContent(content);

        Assert.Equal(["@mod:hs.test"], levels.Users.Keys);
        Assert.Equal(PowerLevels.DefaultRedact, levels.Redact);
        Assert.DoesNotContain("\\u0000", levels.ToJson(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_invites_stripped_state_entry_with_a_bad_part_is_left_out_alone_and_the_invite_is_read()
    {
        string invite = $$$"""
            {"event_id":"$inv","room_id":"{{{Room}}}","type":"m.room.member","sender":"{{{Alice}}}","state_key":"@bot:hs.test",
             "content":{"membership":"invite"},
             "unsigned":{"invite_room_state":[
               {"type":"m.room.name","state_key":"","sender":"@a\u0000:hs.test","content":{"name":"Bad sender"}},
               {"type":"m.room.topic","state_key":"","sender":"{{{Alice}}}","content":{"topic":"Kept","\ud800":1}},
               {"type":"m.room.join_rules","state_key":"","sender":"{{{Alice}}}","content":{"join_rule":"invite"},"\u0000":{"\udc00":0}},
               {"type":"m.room.avatar","state_key":"\ud800","sender":"{{{Alice}}}","content":{"url":"mxc://hs.test/a"}}]}}
            """;

        var e = _bodies.Accepted(invite);
        var entries = StrippedState.RoomInfoEntries(e);

        Assert.Equal([EventTypes.Topic, EventTypes.JoinRules], entries.Select(x => x.Type));
        var room = StrippedState.Seed(new RoomInfo(Room), e, DateTimeOffset.UnixEpoch);
        Assert.Equal((null, "Kept", "invite", null), (room.Name, room.Topic, room.JoinRule, room.AvatarUrl));
    }

    [Fact]
    public void Additional_creators_that_are_not_storable_user_ids_are_left_out()
    {
        var e = _bodies.Accepted(
            $$$"""{"event_id":"$c","room_id":"{{{Room}}}","type":"m.room.create","sender":"{{{Alice}}}","state_key":"","content":{"room_version":"12","additional_creators":["@b\u0000:hs.test","@c\ud800:hs.test",5,"","@d:hs.test"]}}""");

        Assert.Equal([Alice, "@d:hs.test"], RoomInfoProjector.Apply(new RoomInfo(Room), e, DateTimeOffset.UnixEpoch).Creators!);
    }
}
