using AppService.Matrix;
using AppService.Projections;
using static AppService.Tests.Projections.Events;

namespace AppService.Tests.Projections;

/// <summary>The redaction algorithm as the projections see it (facts 4.6): pure, no batch.</summary>
public sealed class RedactionTests
{
    private static readonly RoomInfo Full = new(Room)
    {
        Name = "Name",
        Topic = "Topic",
        CanonicalAlias = "#alias:hs.test",
        AvatarUrl = "mxc://hs.test/avatar",
        JoinRule = "public",
        HistoryVisibility = "shared",
        Encryption = "m.megolm.v1.aes-sha2",
        RoomVersion = "11",
        Creator = Alice,
        RoomType = "m.space",
        PredecessorRoomId = "!old:hs.test",
        TombstoneSuccessor = "!new:hs.test",
    };

    [Theory]
    [InlineData(EventTypes.Name)]
    [InlineData(EventTypes.Topic)]
    [InlineData(EventTypes.CanonicalAlias)]
    [InlineData(EventTypes.Avatar)]
    [InlineData(EventTypes.Tombstone)]
    public void Redacting_an_event_whose_content_is_all_stripped_clears_only_its_field(string type)
    {
        var redacted = Redaction.Apply(Full, type, Now);

        var expected = type switch
        {
            EventTypes.Name => Full with { Name = null },
            EventTypes.Topic => Full with { Topic = null },
            EventTypes.CanonicalAlias => Full with { CanonicalAlias = null },
            EventTypes.Avatar => Full with { AvatarUrl = null },
            _ => Full with { TombstoneSuccessor = null },
        };
        Assert.Equal(expected with { UpdatedAt = Now }, redacted);
    }

    [Theory]
    [InlineData(EventTypes.Create)]
    [InlineData(EventTypes.JoinRules)]
    [InlineData(EventTypes.HistoryVisibility)]
    [InlineData("m.room.power_levels")]
    [InlineData("m.room.pinned_events")]
    public void Redacting_an_event_whose_projected_keys_are_protected_changes_nothing(string type) =>
        Assert.Same(Full, Redaction.Apply(Full, type, Now));

    [Fact]
    public void Redacting_the_encryption_event_keeps_the_room_encrypted()
    {
        Assert.Same(Full, Redaction.Apply(Full, EventTypes.Encryption, Now));
        Assert.Equal("m.megolm.v1.aes-sha2", Redaction.Apply(Full, EventTypes.Encryption, Now).Encryption);
    }

    [Fact]
    public void Encryption_cannot_be_turned_off_by_an_event_but_is_cleared_when_the_homeserver_has_none()
    {
        using var events = new Events();
        var disable = events.State(EventTypes.Encryption, []);
        Assert.Same(Full, RoomInfoProjector.Apply(Full, disable, Now));

        var rotate = events.State(EventTypes.Encryption, new System.Text.Json.Nodes.JsonObject { ["algorithm"] = "m.megolm.v2" });
        Assert.Equal("m.megolm.v2", RoomInfoProjector.Apply(Full, rotate, Now).Encryption);

        // A snapshot without any m.room.encryption: the room never was encrypted (state is never deleted).
        Assert.Null(RoomInfoProjector.Absent(Full, EventTypes.Encryption, Now).Encryption);
    }

    [Fact]
    public void Redacting_a_member_event_keeps_the_membership_and_clears_the_profile()
    {
        var member = Row(Alice, Memberships.Join, "$join", displayname: "Alice") with { AvatarUrl = "mxc://hs.test/a" };

        var redacted = Redaction.Apply(member, Now);

        Assert.Equal(member with { DisplayName = null, AvatarUrl = null, UpdatedAt = Now }, redacted);
    }

    [Fact]
    public void Redacting_a_member_event_without_a_profile_changes_nothing()
    {
        var member = Row(Alice, Memberships.Leave, "$leave");

        Assert.Same(member, Redaction.Apply(member, Now));
    }

    [Theory]
    [InlineData(EventTypes.Member, "membership", true)]
    [InlineData(EventTypes.Member, "displayname", false)]
    [InlineData(EventTypes.Member, "avatar_url", false)]
    [InlineData(EventTypes.Member, "join_authorised_via_users_server", true)]
    [InlineData(EventTypes.Create, "room_version", true)]
    [InlineData(EventTypes.Create, "predecessor", true)]
    [InlineData(EventTypes.JoinRules, "join_rule", true)]
    [InlineData(EventTypes.JoinRules, "allow", true)]
    [InlineData(EventTypes.HistoryVisibility, "history_visibility", true)]
    [InlineData(EventTypes.Name, "name", false)]
    [InlineData(EventTypes.Topic, "topic", false)]
    [InlineData(EventTypes.CanonicalAlias, "alias", false)]
    [InlineData(EventTypes.CanonicalAlias, "alt_aliases", false)]
    [InlineData(EventTypes.Avatar, "url", false)]
    [InlineData(EventTypes.Encryption, "algorithm", false)]
    [InlineData(EventTypes.Redaction, "redacts", true)]
    [InlineData("m.room.power_levels", "users", true)]
    public void Keeps_follows_the_v11_redaction_algorithm(string type, string key, bool kept) =>
        Assert.Equal(kept, Redaction.Keeps(type, key));

    [Fact]
    public void An_absent_create_event_leaves_the_room_as_it_is()
    {
        Assert.Same(Full, RoomInfoProjector.Absent(Full, EventTypes.Create, Now));
        Assert.Equal(Full with { Name = null, UpdatedAt = Now }, RoomInfoProjector.Absent(Full, EventTypes.Name, Now));
    }
}
