using System.Text.Json.Nodes;
using AppService.Matrix;
using AppService.Projections;
using static AppService.Tests.Projections.Events;

namespace AppService.Tests.Projections;

public sealed class MembershipProjectorTests : IDisposable
{
    private readonly Events _events = new();

    public void Dispose() => _events.Dispose();

    /// <summary>
    /// The transition table of the facts file (section 4.2), one row per (prev, new, actor) it tells apart. Rows whose
    /// meaning does not depend on the actor use the actor the spec allows (joins and knocks are sent by the user,
    /// invites and bans by someone else).
    /// </summary>
    public static TheoryData<string, string, bool, MembershipChange> TransitionTable => new()
    {
        { "invite", "join", true, MembershipChange.Joined },
        { "invite", "leave", true, MembershipChange.InviteRejected },
        { "invite", "leave", false, MembershipChange.InviteRevoked },
        { "invite", "ban", false, MembershipChange.Banned },
        { "invite", "knock", true, MembershipChange.Knocked },
        { "join", "join", true, MembershipChange.ProfileChanged },
        { "join", "leave", true, MembershipChange.Left },
        { "join", "leave", false, MembershipChange.Kicked },
        { "join", "ban", false, MembershipChange.Banned },
        { "join", "invite", false, MembershipChange.Unexpected },
        { "join", "knock", true, MembershipChange.Unexpected },
        { "leave", "invite", false, MembershipChange.Invited },
        { "leave", "join", true, MembershipChange.Joined },
        { "leave", "ban", false, MembershipChange.Banned },
        { "leave", "knock", true, MembershipChange.Knocked },
        { "ban", "leave", false, MembershipChange.Unbanned },
        { "ban", "invite", false, MembershipChange.Unexpected },
        { "ban", "join", true, MembershipChange.Unexpected },
        { "ban", "knock", true, MembershipChange.Unexpected },
        { "knock", "invite", false, MembershipChange.KnockAccepted },
        { "knock", "leave", true, MembershipChange.KnockRetracted },
        { "knock", "leave", false, MembershipChange.KnockDenied },
        { "knock", "ban", false, MembershipChange.Banned },
    };

    [Theory]
    [MemberData(nameof(TransitionTable))]
    public void Classify_follows_the_transition_table(string previous, string next, bool selfAction, MembershipChange expected) =>
        Assert.Equal(expected, MembershipProjector.Classify(previous, next, selfAction));

    [Theory]
    [MemberData(nameof(TransitionTable))]
    public void Apply_after_a_stored_row_follows_the_transition_table(
        string previous, string next, bool selfAction, MembershipChange expected)
    {
        var stored = new RoomMember(Room, Alice, previous) { EventId = "$old", Sender = Alice, UpdatedAt = Earlier };
        var e = _events.Member(Alice, next, sender: selfAction ? Alice : Mod);

        var (row, change) = MembershipProjector.Apply(stored, e, Now);

        Assert.Equal(expected, change);
        Assert.Equal(next, row.Membership);
    }

    [Theory]
    [MemberData(nameof(TransitionTable))]
    public void Apply_after_unsigned_prev_content_follows_the_transition_table(
        string previous, string next, bool selfAction, MembershipChange expected)
    {
        var e = _events.Member(
            Alice,
            next,
            sender: selfAction ? Alice : Mod,
            unsigned: new JsonObject { ["prev_content"] = new JsonObject { ["membership"] = previous } });

        var (_, change) = MembershipProjector.Apply(current: null, e, Now);

        Assert.Equal(expected, change);
    }

    [Theory]
    [InlineData("leave", "leave", true, MembershipChange.Left)]
    [InlineData("leave", "leave", false, MembershipChange.Kicked)]
    [InlineData("ban", "ban", false, MembershipChange.Banned)]
    [InlineData("invite", "invite", false, MembershipChange.Invited)]
    [InlineData("knock", "knock", true, MembershipChange.Knocked)]
    [InlineData("knock", "join", true, MembershipChange.Unexpected)]
    public void Repeats_and_transitions_outside_the_table_have_a_fixed_meaning(
        string previous, string next, bool selfAction, MembershipChange expected) =>
        Assert.Equal(expected, MembershipProjector.Classify(previous, next, selfAction));

    [Fact]
    public void Join_after_join_is_a_profile_change_and_takes_the_new_profile()
    {
        var stored = new RoomMember(Room, Alice, Memberships.Join)
        {
            DisplayName = "Alice",
            AvatarUrl = "mxc://hs.test/old",
            EventId = "$old",
            Sender = Alice,
            UpdatedAt = Earlier,
        };
        var e = _events.Member(
            Alice,
            "join",
            content: new JsonObject { ["displayname"] = "Alice B.", ["avatar_url"] = "mxc://hs.test/new" });

        var (row, change) = MembershipProjector.Apply(stored, e, Now);

        Assert.Equal(MembershipChange.ProfileChanged, change);
        Assert.Equal(Memberships.Join, row.Membership);
        Assert.Equal("Alice B.", row.DisplayName);
        Assert.Equal("mxc://hs.test/new", row.AvatarUrl);
        Assert.Equal(e.EventId, row.EventId);
        Assert.Equal(Now, row.UpdatedAt);
    }

    [Fact]
    public void A_profile_key_left_out_of_the_new_event_is_cleared()
    {
        var stored = new RoomMember(Room, Alice, Memberships.Join) { DisplayName = "Alice", AvatarUrl = "mxc://hs.test/a" };
        var e = _events.Member(Alice, "join", content: new JsonObject { ["displayname"] = "Alice" });

        var (row, _) = MembershipProjector.Apply(stored, e, Now);

        Assert.Equal("Alice", row.DisplayName);
        Assert.Null(row.AvatarUrl);
    }

    [Fact]
    public void Displayname_null_is_allowed_and_means_no_displayname()
    {
        var e = _events.Member(Alice, "join", content: new JsonObject { ["displayname"] = null, ["avatar_url"] = null });

        var (row, change) = MembershipProjector.Apply(current: null, e, Now);

        Assert.Equal(MembershipChange.Joined, change);
        Assert.Null(row.DisplayName);
        Assert.Null(row.AvatarUrl);
    }

    [Fact]
    public void The_stored_row_is_the_previous_membership_even_when_prev_content_says_otherwise()
    {
        var stored = new RoomMember(Room, Alice, Memberships.Join);
        var e = _events.Member(
            Alice,
            "leave",
            unsigned: new JsonObject { ["prev_content"] = new JsonObject { ["membership"] = "invite" } });

        var (_, change) = MembershipProjector.Apply(stored, e, Now);

        Assert.Equal(MembershipChange.Left, change);
    }

    [Fact]
    public void Without_a_stored_row_prev_content_is_the_previous_membership()
    {
        var e = _events.Member(
            Alice,
            "leave",
            unsigned: new JsonObject { ["prev_content"] = new JsonObject { ["membership"] = "invite" } });

        var (_, change) = MembershipProjector.Apply(current: null, e, Now);

        Assert.Equal(MembershipChange.InviteRejected, change);
    }

    [Fact]
    public void Without_a_stored_row_or_prev_content_the_previous_membership_is_leave()
    {
        var join = _events.Member(Alice, "join", unsigned: new JsonObject { ["age"] = 12 });
        var kick = _events.Member(Bob, "leave", sender: Mod);

        Assert.Equal(MembershipChange.Joined, MembershipProjector.Apply(null, join, Now).Change);
        Assert.Equal(MembershipChange.Kicked, MembershipProjector.Apply(null, kick, Now).Change);
    }

    [Theory]
    [InlineData("""{"membership":"dance"}""")]
    [InlineData("""{"membership":5}""")]
    [InlineData("""{}""")]
    [InlineData("""[]""")]
    [InlineData("""null""")]
    public void Unusable_prev_content_counts_as_leave(string prevContent)
    {
        var e = _events.Member(
            Alice,
            "leave",
            unsigned: new JsonObject { ["prev_content"] = JsonNode.Parse(prevContent) });

        var (_, change) = MembershipProjector.Apply(current: null, e, Now);

        Assert.Equal(MembershipChange.Left, change);
    }

    [Fact]
    public void The_row_keys_on_state_key_and_records_the_event_and_its_sender()
    {
        var kick = _events.Member(Bob, "leave", sender: Mod, roomId: "!other:hs.test", eventId: "$kick");

        var (row, change) = MembershipProjector.Apply(new RoomMember("!other:hs.test", Bob, Memberships.Join), kick, Now);

        Assert.Equal(MembershipChange.Kicked, change);
        Assert.Equal("!other:hs.test", row.RoomId);
        Assert.Equal(Bob, row.UserId);
        Assert.Equal(Memberships.Leave, row.Membership);
        Assert.Equal("$kick", row.EventId);
        Assert.Equal(Mod, row.Sender);
        Assert.Equal(Now, row.UpdatedAt);
    }

    [Fact]
    public void A_member_event_without_state_key_is_refused()
    {
        // Without state_key the parser treats it as a message, so it never reaches the projector in practice.
        var notState = _events.Parse("""
            {"event_id":"$m","room_id":"!room:hs.test","type":"m.room.member","sender":"@alice:hs.test",
             "content":{"membership":"join"}}
            """);

        Assert.False(notState.IsState);
        Assert.Throws<ArgumentException>(() => MembershipProjector.Apply(null, notState, Now));
    }
}
