using AppService.Simulator.Oracle;
using AppService.Simulator.Workload;

namespace AppService.Simulator.Tests.Oracle;

public class ExpectedProjectionTests
{
    private const string Alice = "@alice:localhost";
    private const string Bob = "@bob:localhost";
    private readonly ExpectedProjection _model = new(Ev.Bot);
    private readonly HsStream _hs = new();

    private RoomRow Room => _model.Rooms[Ev.Room];

    [Fact]
    public void An_event_id_is_applied_once_whatever_transaction_it_arrives_in()
    {
        var join = _hs.Member(Alice, Alice, "join");

        Assert.Equal(ApplyOutcome.Applied, _model.Apply(join));
        Assert.Equal(ApplyOutcome.Duplicate, _model.Apply(join));
        Assert.Equal(1, _model.AppliedCount);
    }

    [Fact]
    public void A_duplicate_does_not_undo_a_later_change()
    {
        var join = _hs.Member(Alice, Alice, "join");
        _model.Apply(join);
        _model.Apply(_hs.Member(Alice, Alice, "leave"));

        _model.Apply(join);

        Assert.Equal("leave", Room.Members[Alice].Membership);
    }

    [Fact]
    public void Member_rows_are_keyed_by_state_key_not_sender()
    {
        _model.Apply(_hs.Member(Alice, Alice, "join"));
        _model.Apply(_hs.Member(Bob, Bob, "join"));
        var kick = _hs.Member(Alice, Bob, "leave");

        _model.Apply(kick);

        Assert.Equal("leave", Room.Members[Bob].Membership);
        Assert.Equal(kick.EventId, Room.Members[Bob].EventId);
        Assert.Equal("join", Room.Members[Alice].Membership);
    }

    [Fact]
    public void Leave_and_ban_rows_stay_with_their_membership()
    {
        _model.Apply(_hs.Member(Alice, Alice, "join"));
        _model.Apply(_hs.Member(Alice, Alice, "leave"));
        _model.Apply(_hs.Member(Alice, Bob, "ban"));

        Assert.Equal("leave", Room.Members[Alice].Membership);
        Assert.Equal("ban", Room.Members[Bob].Membership);
        Assert.Equal(0, Room.JoinedMemberCount);
    }

    [Theory]
    [InlineData("leave")]
    [InlineData("ban")]
    public void The_bots_leave_or_ban_deletes_every_member_row_but_keeps_the_room(string membership)
    {
        _model.Apply(_hs.State("m.room.name", """{"name":"Kept"}"""));
        _model.Apply(_hs.Member(Alice, Ev.Bot, "invite"));
        _model.Apply(_hs.Member(Ev.Bot, Ev.Bot, "join"));
        _model.Apply(_hs.Member(Alice, Alice, "join"));
        _model.Apply(_hs.Member(Bob, Bob, "leave"));

        _model.Apply(_hs.Member(Alice, Ev.Bot, membership));

        Assert.Empty(Room.Members);
        Assert.Equal(membership, Room.BotMembership);
        Assert.Equal("Kept", Room.Name);
    }

    [Fact]
    public void Member_events_after_the_bot_left_create_rows_again()
    {
        _model.Apply(_hs.Member(Alice, Alice, "join"));
        _model.Apply(_hs.Member(Alice, Ev.Bot, "leave"));

        _model.Apply(_hs.Member(Alice, Ev.Bot, "invite"));
        _model.Apply(_hs.Member(Ev.Bot, Ev.Bot, "join"));
        _model.Apply(_hs.Member(Bob, Bob, "join"));

        Assert.Equal([Bob, Ev.Bot], Room.Members.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("join", Room.BotMembership);
        Assert.Equal(2, Room.JoinedMemberCount);
    }

    [Fact]
    public void Bot_membership_is_null_until_the_bot_has_a_member_event()
    {
        _model.Apply(Ev.Message());
        Assert.Null(Room.BotMembership);

        _model.Apply(_hs.Member(Alice, Ev.Bot, "invite"));
        Assert.Equal("invite", Room.BotMembership);
        Assert.Equal(1, Room.InvitedMemberCount);
    }

    [Theory]
    [InlineData("1", "@creator:localhost")]
    [InlineData("10", "@creator:localhost")]
    [InlineData("11", "@sender:localhost")]
    [InlineData("12", "@sender:localhost")]
    public void Creator_comes_from_content_up_to_room_version_10_and_from_sender_after(string version, string expected)
    {
        _model.Apply(_hs.State("m.room.create", $$"""{"room_version":"{{version}}","creator":"@creator:localhost"}""", sender: "@sender:localhost"));

        Assert.Equal(version, Room.RoomVersion);
        Assert.Equal(expected, Room.Creator);
    }

    [Fact]
    public void A_create_event_without_room_version_means_version_1_and_reads_room_type()
    {
        _model.Apply(_hs.State("m.room.create", """{"creator":"@creator:localhost","type":"m.space"}"""));

        Assert.Equal("1", Room.RoomVersion);
        Assert.Equal("@creator:localhost", Room.Creator);
        Assert.Equal("m.space", Room.RoomType);
    }

    [Theory]
    [InlineData("""{"name":""}""")]
    [InlineData("""{"name":null}""")]
    [InlineData("""{}""")]
    public void Empty_null_or_absent_clears_a_room_info_field(string cleared)
    {
        _model.Apply(_hs.State("m.room.name", """{"name":"Before"}"""));

        _model.Apply(_hs.State("m.room.name", cleared));

        Assert.Null(Room.Name);
    }

    [Fact]
    public void Every_room_info_type_sets_its_field()
    {
        _model.Apply(_hs.State("m.room.topic", """{"topic":"t"}"""));
        _model.Apply(_hs.State("m.room.canonical_alias", """{"alias":"#a:localhost","alt_aliases":["#b:localhost"]}"""));
        _model.Apply(_hs.State("m.room.avatar", """{"url":"mxc://localhost/x"}"""));
        _model.Apply(_hs.State("m.room.join_rules", """{"join_rule":"knock"}"""));
        _model.Apply(_hs.State("m.room.history_visibility", """{"history_visibility":"joined"}"""));
        _model.Apply(_hs.State("m.room.encryption", """{"algorithm":"m.megolm.v1.aes-sha2"}"""));
        _model.Apply(_hs.State("m.room.tombstone", """{"body":"moved","replacement_room":"!new:localhost"}"""));

        Assert.Equal(("t", "#a:localhost", "mxc://localhost/x", "knock", "joined", "m.megolm.v1.aes-sha2", "!new:localhost"),
            (Room.Topic, Room.CanonicalAlias, Room.AvatarUrl, Room.JoinRule, Room.HistoryVisibility, Room.Encryption, Room.TombstoneSuccessor));
    }

    [Fact]
    public void Room_info_ignores_non_empty_state_keys_and_message_events()
    {
        _model.Apply(_hs.State("m.room.name", """{"name":"Real"}"""));

        _model.Apply(_hs.State("m.room.name", """{"name":"Other key"}""", stateKey: "x"));
        _model.Apply(_hs.Make("m.room.name", Alice, null, Json.Object(("name", "Not state"))));

        Assert.Equal("Real", Room.Name);
        Assert.Equal(3, _model.AppliedCount);
    }

    [Fact]
    public void Displayname_is_stored_as_sent_and_null_when_null_or_absent()
    {
        _model.Apply(_hs.Member(Alice, Alice, "join", displayname: "Alice"));
        Assert.Equal("Alice", Room.Members[Alice].Displayname);

        _model.Apply(_hs.State("m.room.member", """{"membership":"join","displayname":null}""", stateKey: Alice, sender: Alice));
        Assert.Null(Room.Members[Alice].Displayname);

        _model.Apply(_hs.State("m.room.member", """{"membership":"join","displayname":"A","avatar_url":"mxc://localhost/a"}""", stateKey: Alice, sender: Alice));
        _model.Apply(_hs.State("m.room.member", """{"membership":"join"}""", stateKey: Alice, sender: Alice));
        Assert.Null(Room.Members[Alice].Displayname);
        Assert.Null(Room.Members[Alice].AvatarUrl);
    }

    [Fact]
    public void A_room_row_exists_after_any_accepted_event_even_a_message()
    {
        _model.Apply(Ev.Message());

        Assert.True(_model.Rooms.ContainsKey(Ev.Room));
        Assert.Null(Room.Name);
        Assert.Empty(Room.Members);
    }

    [Fact]
    public void Poison_changes_nothing_and_is_counted_once_per_event_id()
    {
        _model.Apply(_hs.Member(Alice, Alice, "join", displayname: "Alice"));
        var poison = _hs.State("m.room.member", """{"membership":5}""", stateKey: Alice, sender: Alice);

        Assert.Equal(ApplyOutcome.Rejected, _model.Apply(poison));
        Assert.Equal(ApplyOutcome.DuplicateRejected, _model.Apply(poison));

        Assert.Equal(("join", "Alice"), (Room.Members[Alice].Membership, Room.Members[Alice].Displayname));
        Assert.Equal(1, _model.RejectedCount);
        Assert.Equal(1, _model.AppliedCount);
    }

    [Fact]
    public void A_room_with_only_poison_events_has_no_row()
    {
        // A display value of the wrong type is applied as null (issue 16 point 4); a membership of the wrong type is poison.
        _model.Apply(_hs.State("m.room.member", """{"membership":123}""", stateKey: "@alice:localhost", room: "!poisoned:localhost"));

        Assert.False(_model.Rooms.ContainsKey("!poisoned:localhost"));
    }

    [Fact]
    public void Poison_without_an_event_id_is_counted_per_delivery()
    {
        var poison = _hs.Make("m.room.message", Alice, null, Json.Object(("body", "x")), eventId: "");

        _model.Apply(poison);
        _model.Apply(poison);

        Assert.Equal(0, _model.RejectedCount);
        Assert.Equal(2, _model.RejectedWithoutIdDeliveries);
        Assert.Empty(_model.Rooms);
    }

    [Fact]
    public void Users_rooms_list_every_stored_row()
    {
        _model.Apply(_hs.Member(Alice, Alice, "join"));
        _model.Apply(_hs.Member(Alice, Alice, "leave", room: "!other:localhost"));

        var rooms = _model.RoomsByUser()[Alice].Order().ToList();

        Assert.Equal([("!other:localhost", "leave"), (Ev.Room, "join")], rooms);
    }

    [Fact]
    public void A_state_event_naming_an_event_never_pushed_is_processed_but_not_applied_and_the_room_is_suspect()
    {
        // Seed 1, 3000 events: @u39 is invited (first sight: the bot's kick had forgotten every member key), joins
        // while nobody of the namespace is in the room (not pushed), and after the bot's re-join changes profile:
        // that event names the join the service never saw.
        const string User = "@u39:localhost";
        _model.Apply(_hs.Member(Alice, Ev.Bot, "invite"));
        _model.Apply(_hs.Member(Ev.Bot, Ev.Bot, "join"));
        var invite = _hs.Member(Alice, User, "invite");
        _model.Apply(invite);
        var joinNeverPushed = _hs.Member(User, User, "join", displayname: "Grace 39");
        var profile = _hs.Member(User, User, "join", displayname: "Grace 39");
        Assert.Equal(joinNeverPushed.EventId, profile.ReplacesState);

        Assert.Equal(ApplyOutcome.Applied, _model.Apply(profile));

        Assert.Equal(("invite", invite.EventId), (Room.Members[User].Membership, Room.Members[User].EventId));
        Assert.True(Room.Suspect);
        Assert.True(_model.WasApplied(profile.EventId!));
        Assert.Equal(1, _model.NotFollowingCount);
    }

    [Fact]
    public void A_state_event_without_replaces_state_while_one_is_held_changes_nothing()
    {
        _model.Apply(_hs.State("m.room.name", """{"name":"Held"}"""));

        _model.Apply(Ev.State("m.room.name", """{"name":"From a backlog"}"""));

        Assert.Equal("Held", Room.Name);
        Assert.True(Room.Suspect);
    }

    [Fact]
    public void The_successor_of_an_event_not_applied_does_not_follow_either_and_a_redaction_of_it_changes_nothing()
    {
        _model.Apply(_hs.State("m.room.create", """{"room_version":"11"}"""));
        _model.Apply(_hs.State("m.room.topic", """{"topic":"Held"}"""));
        _hs.State("m.room.topic", """{"topic":"Never pushed"}""");
        var skipped = _hs.State("m.room.topic", """{"topic":"Skips one"}""");
        var next = _hs.State("m.room.topic", """{"topic":"Follows the skipped one"}""");

        _model.Apply(skipped);
        _model.Apply(next);
        _model.Apply(RedactionBy(Alice, next.EventId!));

        Assert.Equal("Held", Room.Topic);
        Assert.Equal(2, _model.NotFollowingCount);
    }

    [Fact]
    public void First_sight_and_events_naming_the_held_one_apply_and_leave_the_room_clean()
    {
        _model.Apply(_hs.State("m.room.name", """{"name":"First"}"""));
        _model.Apply(_hs.State("m.room.name", """{"name":"Second"}"""));
        _model.Apply(_hs.Member(Alice, Alice, "join"));
        _model.Apply(_hs.Member(Alice, Alice, "leave"));

        Assert.Equal(("Second", "leave"), (Room.Name, Room.Members[Alice].Membership));
        Assert.False(Room.Suspect);
        Assert.Equal(0, _model.NotFollowingCount);
    }

    [Fact]
    public void After_the_bots_leave_a_member_key_is_seen_for_the_first_time_again()
    {
        _model.Apply(_hs.Member(Alice, Ev.Bot, "invite"));
        _model.Apply(_hs.Member(Ev.Bot, Ev.Bot, "join"));
        _model.Apply(_hs.Member(Alice, Alice, "join"));
        _model.Apply(_hs.Member(Alice, Ev.Bot, "leave"));
        _hs.Member(Alice, Alice, "leave"); // while the bot is out: not pushed

        var rejoin = _hs.Member(Alice, Alice, "join");
        _model.Apply(rejoin);

        Assert.Equal(rejoin.EventId, Room.Members[Alice].EventId);
        Assert.False(Room.Suspect);
    }

    private static SimEvent RedactionBy(string sender, string targetId) => new()
    {
        Index = 0,
        EventId = "$r" + Guid.NewGuid().ToString("N") + ":" + sender[(sender.IndexOf(':') + 1)..],
        RoomId = Ev.Room,
        Type = "m.room.redaction",
        Sender = sender,
        OriginServerTs = 1_700_000_000_000,
        Content = Json.Object(("redacts", targetId)),
        Redacts = targetId,
    };

    [Fact]
    public void A_powerless_remote_redaction_of_state_changes_nothing_and_a_moderators_does()
    {
        _model.Apply(_hs.State("m.room.create", """{"room_version":"11"}"""));
        _model.Apply(_hs.State("m.room.power_levels", """{"users":{"@alice:localhost":100,"@mod:other.test":50}}"""));
        var name = _hs.State("m.room.name", """{"name":"Kept"}""");
        var topic = _hs.State("m.room.topic", """{"topic":"Goes"}""");
        _model.Apply(name);
        _model.Apply(topic);

        _model.Apply(RedactionBy("@mallory:evil.test", name.EventId!));
        _model.Apply(RedactionBy("@mod:other.test", topic.EventId!));

        Assert.Equal(("Kept", (string?)null), (Room.Name, Room.Topic));
    }

    [Fact]
    public void A_local_users_redaction_applies_and_encryption_is_never_cleared()
    {
        _model.Apply(_hs.State("m.room.create", """{"room_version":"10","creator":"@alice:localhost"}"""));
        var encryption = _hs.State("m.room.encryption", """{"algorithm":"m.megolm.v1.aes-sha2"}""");
        var avatar = _hs.State("m.room.avatar", """{"url":"mxc://localhost/a"}""");
        _model.Apply(encryption);
        _model.Apply(avatar);

        _model.Apply(RedactionBy(Bob, encryption.EventId!));
        _model.Apply(RedactionBy(Bob, avatar.EventId!));
        _model.Apply(_hs.State("m.room.encryption", "{}"));

        Assert.Equal(("m.megolm.v1.aes-sha2", (string?)null), (Room.Encryption, Room.AvatarUrl));
    }

    [Fact]
    public void In_room_v12_an_additional_creator_on_another_server_may_redact()
    {
        _model.Apply(_hs.State("m.room.create", """{"room_version":"12","additional_creators":["@co:other.test"]}"""));
        _model.Apply(_hs.State("m.room.power_levels", """{"users":{}}"""));
        var name = _hs.State("m.room.name", """{"name":"Goes"}""");
        _model.Apply(name);

        _model.Apply(RedactionBy("@co:other.test", name.EventId!));

        Assert.Null(Room.Name);
    }
}
