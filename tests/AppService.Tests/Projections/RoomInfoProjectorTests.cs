using System.Text.Json.Nodes;
using AppService.Matrix;
using AppService.Projections;
using static AppService.Tests.Projections.Events;

namespace AppService.Tests.Projections;

public sealed class RoomInfoProjectorTests : IDisposable
{
    private static readonly RoomInfo Empty = new(Room) { UpdatedAt = Earlier };

    private readonly Events _events = new();

    public void Dispose() => _events.Dispose();

    /// <summary>Every room-info event of the facts file (section 4.5) that sets one text field.</summary>
    public static TheoryData<string, string, string> Fields => new()
    {
        { EventTypes.Name, "name", "Lobby" },
        { EventTypes.Topic, "topic", "Say hello" },
        { EventTypes.CanonicalAlias, "alias", "#lobby:hs.test" },
        { EventTypes.Avatar, "url", "mxc://hs.test/avatar" },
        { EventTypes.JoinRules, "join_rule", "knock_restricted" },
        { EventTypes.HistoryVisibility, "history_visibility", "world_readable" },
        { EventTypes.Encryption, "algorithm", "m.megolm.v1.aes-sha2" },
        { EventTypes.Tombstone, "replacement_room", "!successor:hs.test" },
    };

    /// <summary>The fields an event without a value clears: all but encryption, which can never be turned off.</summary>
    public static TheoryData<string, string, string> ClearableFields
    {
        get
        {
            var data = new TheoryData<string, string, string>();
            foreach (var row in Fields)
            {
                if ((string)row[0]! != EventTypes.Encryption)
                {
                    data.Add((string)row[0]!, (string)row[1]!, (string)row[2]!);
                }
            }

            return data;
        }
    }

    private static string? Field(RoomInfo room, string type) => type switch
    {
        EventTypes.Name => room.Name,
        EventTypes.Topic => room.Topic,
        EventTypes.CanonicalAlias => room.CanonicalAlias,
        EventTypes.Avatar => room.AvatarUrl,
        EventTypes.JoinRules => room.JoinRule,
        EventTypes.HistoryVisibility => room.HistoryVisibility,
        EventTypes.Encryption => room.Encryption,
        EventTypes.Tombstone => room.TombstoneSuccessor,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    private RoomInfo WithField(string type, string key, string value) =>
        RoomInfoProjector.Apply(Empty, _events.State(type, new JsonObject { [key] = value }), Earlier);

    [Theory]
    [MemberData(nameof(Fields))]
    public void Each_room_info_event_sets_its_field(string type, string key, string value)
    {
        var room = RoomInfoProjector.Apply(Empty, _events.State(type, new JsonObject { [key] = value }), Now);

        Assert.Equal(value, Field(room, type));
        Assert.Equal(Now, room.UpdatedAt);
    }

    [Theory]
    [MemberData(nameof(ClearableFields))]
    public void An_empty_string_clears_the_field(string type, string key, string value)
    {
        var room = RoomInfoProjector.Apply(WithField(type, key, value), _events.State(type, new JsonObject { [key] = "" }), Now);

        Assert.Null(Field(room, type));
        Assert.Equal(Now, room.UpdatedAt);
    }

    [Theory]
    [MemberData(nameof(ClearableFields))]
    public void A_null_value_clears_the_field(string type, string key, string value)
    {
        var room = RoomInfoProjector.Apply(WithField(type, key, value), _events.State(type, new JsonObject { [key] = null }), Now);

        Assert.Null(Field(room, type));
    }

    [Theory]
    [MemberData(nameof(ClearableFields))]
    public void Content_without_the_key_clears_the_field(string type, string key, string value)
    {
        // This is also what a redacted name, topic, avatar, alias or encryption event looks like (section 4.6).
        var room = RoomInfoProjector.Apply(WithField(type, key, value), _events.State(type, []), Now);

        Assert.Null(Field(room, type));
    }

    [Theory]
    [MemberData(nameof(Fields))]
    public void An_event_sets_only_its_own_field(string type, string key, string value)
    {
        var full = new RoomInfo(Room)
        {
            Name = "n",
            Topic = "t",
            CanonicalAlias = "#a:hs.test",
            AvatarUrl = "mxc://hs.test/a",
            JoinRule = "invite",
            HistoryVisibility = "shared",
            Encryption = "alg",
            TombstoneSuccessor = "!s:hs.test",
            RoomVersion = "10",
            Creator = Alice,
            BotMembership = Memberships.Join,
        };

        var room = RoomInfoProjector.Apply(full, _events.State(type, new JsonObject { [key] = value }), Now);

        Assert.Equal((full.RoomId, full.RoomVersion, full.Creator, full.BotMembership),
            (room.RoomId, room.RoomVersion, room.Creator, room.BotMembership));
        Assert.Equal(value, Field(room, type));
        foreach (var other in Fields.Select(row => (string)row[0]).Where(t => t != type))
        {
            Assert.Equal(Field(full, other), Field(room, other));
        }
    }

    [Fact]
    public void Create_without_room_version_is_version_1()
    {
        var room = RoomInfoProjector.Apply(Empty, _events.State(EventTypes.Create, new JsonObject { ["creator"] = Bob }), Now);

        Assert.Equal("1", room.RoomVersion);
        Assert.Equal(Bob, room.Creator);
        Assert.Equal(Now, room.UpdatedAt);
    }

    [Fact]
    public void Create_with_an_empty_room_version_is_version_1() =>
        Assert.Equal("1", RoomInfoProjector.Apply(Empty, _events.State(EventTypes.Create, new JsonObject { ["room_version"] = "" }), Now).RoomVersion);

    [Theory]
    [InlineData("1")]
    [InlineData("2")]
    [InlineData("3")]
    [InlineData("4")]
    [InlineData("5")]
    [InlineData("6")]
    [InlineData("7")]
    [InlineData("8")]
    [InlineData("9")]
    [InlineData("10")]
    public void Creator_comes_from_content_creator_in_room_versions_1_to_10(string version)
    {
        var create = _events.State(EventTypes.Create, new JsonObject { ["room_version"] = version, ["creator"] = Bob }, sender: Alice);

        var room = RoomInfoProjector.Apply(Empty, create, Now);

        Assert.Equal(version, room.RoomVersion);
        Assert.Equal(Bob, room.Creator);
    }

    [Theory]
    [InlineData("11")]
    [InlineData("12")]
    [InlineData("org.matrix.msc4289")]
    [InlineData("io.example.custom")]
    public void Creator_is_the_sender_from_room_version_11_and_in_non_numeric_versions(string version)
    {
        var create = _events.State(EventTypes.Create, new JsonObject { ["room_version"] = version, ["creator"] = Bob }, sender: Alice);

        var room = RoomInfoProjector.Apply(Empty, create, Now);

        Assert.Equal(version, room.RoomVersion);
        Assert.Equal(Alice, room.Creator);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Before_version_11_a_create_without_creator_falls_back_to_the_sender(string? creator)
    {
        var create = _events.State(EventTypes.Create, new JsonObject { ["room_version"] = "10", ["creator"] = creator }, sender: Alice);

        Assert.Equal(Alice, RoomInfoProjector.Apply(Empty, create, Now).Creator);
    }

    [Fact]
    public void Create_sets_room_type_and_predecessor()
    {
        var create = _events.State(EventTypes.Create, new JsonObject
        {
            ["room_version"] = "11",
            ["type"] = "m.space",
            ["predecessor"] = new JsonObject { ["room_id"] = "!old:hs.test", ["event_id"] = "$tombstone" },
        });

        var room = RoomInfoProjector.Apply(Empty, create, Now);

        Assert.Equal("m.space", room.RoomType);
        Assert.Equal("!old:hs.test", room.PredecessorRoomId);
    }

    [Theory]
    [InlineData("""{"room_version":"11"}""")]
    [InlineData("""{"room_version":"11","predecessor":null}""")]
    [InlineData("""{"room_version":"11","predecessor":{}}""")]
    [InlineData("""{"room_version":"11","predecessor":{"room_id":""}}""")]
    public void A_create_without_a_predecessor_room_id_has_no_predecessor(string content)
    {
        var create = _events.State(EventTypes.Create, JsonNode.Parse(content)!.AsObject());

        var room = RoomInfoProjector.Apply(Empty, create, Now);

        Assert.Null(room.PredecessorRoomId);
        Assert.Null(room.RoomType);
    }

    [Fact]
    public void Tombstone_names_the_successor_room()
    {
        var tombstone = _events.State(EventTypes.Tombstone, new JsonObject
        {
            ["body"] = "This room has been replaced",
            ["replacement_room"] = "!new:hs.test",
        });

        Assert.Equal("!new:hs.test", RoomInfoProjector.Apply(Empty, tombstone, Now).TombstoneSuccessor);
    }

    [Theory]
    [InlineData(EventTypes.Create)]
    [InlineData(EventTypes.Name)]
    [InlineData(EventTypes.Topic)]
    [InlineData(EventTypes.CanonicalAlias)]
    [InlineData(EventTypes.Avatar)]
    [InlineData(EventTypes.JoinRules)]
    [InlineData(EventTypes.HistoryVisibility)]
    [InlineData(EventTypes.Encryption)]
    [InlineData(EventTypes.Tombstone)]
    public void Room_info_types_are_handled(string type) => Assert.True(RoomInfoProjector.Handles(type));

    [Theory]
    [InlineData(EventTypes.Member)]
    [InlineData(EventTypes.Redaction)]
    [InlineData("m.room.message")]
    [InlineData("m.space.child")]
    public void Other_types_are_not_handled(string type) => Assert.False(RoomInfoProjector.Handles(type));

    [Theory]
    [InlineData("m.room.pinned_events")]
    [InlineData("m.space.child")]
    public void An_event_that_sets_nothing_returns_the_room_unchanged(string type)
    {
        var room = RoomInfoProjector.Apply(Empty, _events.State(type, new JsonObject { ["name"] = "ignored" }), Now);

        Assert.Same(Empty, room);
        Assert.Equal(Earlier, room.UpdatedAt);
    }
}
