using AppService.Simulator.Oracle;
using AppService.Simulator.Workload;

namespace AppService.Simulator.Tests.Oracle;

public class ExpectedProjectionTests
{
    private const string Alice = "@alice:localhost";
    private const string Bob = "@bob:localhost";
    private readonly ExpectedProjection _model = new(Ev.Bot);

    private RoomRow Room => _model.Rooms[Ev.Room];

    [Fact]
    public void An_event_id_is_applied_once_whatever_transaction_it_arrives_in()
    {
        var join = Ev.Member(Alice, Alice, "join");

        Assert.Equal(ApplyOutcome.Applied, _model.Apply(join));
        Assert.Equal(ApplyOutcome.Duplicate, _model.Apply(join));
        Assert.Equal(1, _model.AppliedCount);
    }

    [Fact]
    public void A_duplicate_does_not_undo_a_later_change()
    {
        var join = Ev.Member(Alice, Alice, "join");
        _model.Apply(join);
        _model.Apply(Ev.Member(Alice, Alice, "leave"));

        _model.Apply(join);

        Assert.Equal("leave", Room.Members[Alice].Membership);
    }

    [Fact]
    public void Member_rows_are_keyed_by_state_key_not_sender()
    {
        _model.Apply(Ev.Member(Alice, Alice, "join"));
        _model.Apply(Ev.Member(Bob, Bob, "join"));
        var kick = Ev.Member(Alice, Bob, "leave");

        _model.Apply(kick);

        Assert.Equal("leave", Room.Members[Bob].Membership);
        Assert.Equal(kick.EventId, Room.Members[Bob].EventId);
        Assert.Equal("join", Room.Members[Alice].Membership);
    }

    [Fact]
    public void Leave_and_ban_rows_stay_with_their_membership()
    {
        _model.Apply(Ev.Member(Alice, Alice, "join"));
        _model.Apply(Ev.Member(Alice, Alice, "leave"));
        _model.Apply(Ev.Member(Alice, Bob, "ban"));

        Assert.Equal("leave", Room.Members[Alice].Membership);
        Assert.Equal("ban", Room.Members[Bob].Membership);
        Assert.Equal(0, Room.JoinedMemberCount);
    }

    [Theory]
    [InlineData("leave")]
    [InlineData("ban")]
    public void The_bots_leave_or_ban_deletes_every_member_row_but_keeps_the_room(string membership)
    {
        _model.Apply(Ev.State("m.room.name", """{"name":"Kept"}"""));
        _model.Apply(Ev.Member(Alice, Ev.Bot, "invite"));
        _model.Apply(Ev.Member(Ev.Bot, Ev.Bot, "join"));
        _model.Apply(Ev.Member(Alice, Alice, "join"));
        _model.Apply(Ev.Member(Bob, Bob, "leave"));

        _model.Apply(Ev.Member(Alice, Ev.Bot, membership));

        Assert.Empty(Room.Members);
        Assert.Equal(membership, Room.BotMembership);
        Assert.Equal("Kept", Room.Name);
    }

    [Fact]
    public void Member_events_after_the_bot_left_create_rows_again()
    {
        _model.Apply(Ev.Member(Alice, Alice, "join"));
        _model.Apply(Ev.Member(Alice, Ev.Bot, "leave"));

        _model.Apply(Ev.Member(Alice, Ev.Bot, "invite"));
        _model.Apply(Ev.Member(Ev.Bot, Ev.Bot, "join"));
        _model.Apply(Ev.Member(Bob, Bob, "join"));

        Assert.Equal([Bob, Ev.Bot], Room.Members.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("join", Room.BotMembership);
        Assert.Equal(2, Room.JoinedMemberCount);
    }

    [Fact]
    public void Bot_membership_is_null_until_the_bot_has_a_member_event()
    {
        _model.Apply(Ev.Message());
        Assert.Null(Room.BotMembership);

        _model.Apply(Ev.Member(Alice, Ev.Bot, "invite"));
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
        _model.Apply(Ev.State("m.room.create", $$"""{"room_version":"{{version}}","creator":"@creator:localhost"}""", sender: "@sender:localhost"));

        Assert.Equal(version, Room.RoomVersion);
        Assert.Equal(expected, Room.Creator);
    }

    [Fact]
    public void A_create_event_without_room_version_means_version_1_and_reads_room_type()
    {
        _model.Apply(Ev.State("m.room.create", """{"creator":"@creator:localhost","type":"m.space"}"""));

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
        _model.Apply(Ev.State("m.room.name", """{"name":"Before"}"""));

        _model.Apply(Ev.State("m.room.name", cleared));

        Assert.Null(Room.Name);
    }

    [Fact]
    public void Every_room_info_type_sets_its_field()
    {
        _model.Apply(Ev.State("m.room.topic", """{"topic":"t"}"""));
        _model.Apply(Ev.State("m.room.canonical_alias", """{"alias":"#a:localhost","alt_aliases":["#b:localhost"]}"""));
        _model.Apply(Ev.State("m.room.avatar", """{"url":"mxc://localhost/x"}"""));
        _model.Apply(Ev.State("m.room.join_rules", """{"join_rule":"knock"}"""));
        _model.Apply(Ev.State("m.room.history_visibility", """{"history_visibility":"joined"}"""));
        _model.Apply(Ev.State("m.room.encryption", """{"algorithm":"m.megolm.v1.aes-sha2"}"""));
        _model.Apply(Ev.State("m.room.tombstone", """{"body":"moved","replacement_room":"!new:localhost"}"""));

        Assert.Equal(("t", "#a:localhost", "mxc://localhost/x", "knock", "joined", "m.megolm.v1.aes-sha2", "!new:localhost"),
            (Room.Topic, Room.CanonicalAlias, Room.AvatarUrl, Room.JoinRule, Room.HistoryVisibility, Room.Encryption, Room.TombstoneSuccessor));
    }

    [Fact]
    public void Room_info_ignores_non_empty_state_keys_and_message_events()
    {
        _model.Apply(Ev.State("m.room.name", """{"name":"Real"}"""));

        _model.Apply(Ev.State("m.room.name", """{"name":"Other key"}""", stateKey: "x"));
        _model.Apply(Ev.Make("m.room.name", Alice, null, Json.Object(("name", "Not state"))));

        Assert.Equal("Real", Room.Name);
        Assert.Equal(3, _model.AppliedCount);
    }

    [Fact]
    public void Displayname_is_stored_as_sent_and_null_when_null_or_absent()
    {
        _model.Apply(Ev.Member(Alice, Alice, "join", displayname: "Alice"));
        Assert.Equal("Alice", Room.Members[Alice].Displayname);

        _model.Apply(Ev.State("m.room.member", """{"membership":"join","displayname":null}""", stateKey: Alice, sender: Alice));
        Assert.Null(Room.Members[Alice].Displayname);

        _model.Apply(Ev.State("m.room.member", """{"membership":"join","displayname":"A","avatar_url":"mxc://localhost/a"}""", stateKey: Alice, sender: Alice));
        _model.Apply(Ev.State("m.room.member", """{"membership":"join"}""", stateKey: Alice, sender: Alice));
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
        _model.Apply(Ev.Member(Alice, Alice, "join", displayname: "Alice"));
        var poison = Ev.State("m.room.member", """{"membership":5}""", stateKey: Alice, sender: Alice);

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
        _model.Apply(Ev.State("m.room.member", """{"membership":123}""", stateKey: "@alice:localhost", room: "!poisoned:localhost"));

        Assert.False(_model.Rooms.ContainsKey("!poisoned:localhost"));
    }

    [Fact]
    public void Poison_without_an_event_id_is_counted_per_delivery()
    {
        var poison = Ev.Make("m.room.message", Alice, null, Json.Object(("body", "x")), eventId: "");

        _model.Apply(poison);
        _model.Apply(poison);

        Assert.Equal(0, _model.RejectedCount);
        Assert.Equal(2, _model.RejectedWithoutIdDeliveries);
        Assert.Empty(_model.Rooms);
    }

    [Fact]
    public void Users_rooms_list_every_stored_row()
    {
        _model.Apply(Ev.Member(Alice, Alice, "join"));
        _model.Apply(Ev.Member(Alice, Alice, "leave", room: "!other:localhost"));

        var rooms = _model.RoomsByUser()[Alice].Order().ToList();

        Assert.Equal([("!other:localhost", "leave"), (Ev.Room, "join")], rooms);
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
        _model.Apply(Ev.State("m.room.create", """{"room_version":"11"}"""));
        _model.Apply(Ev.State("m.room.power_levels", """{"users":{"@alice:localhost":100,"@mod:other.test":50}}"""));
        var name = Ev.State("m.room.name", """{"name":"Kept"}""");
        var topic = Ev.State("m.room.topic", """{"topic":"Goes"}""");
        _model.Apply(name);
        _model.Apply(topic);

        _model.Apply(RedactionBy("@mallory:evil.test", name.EventId!));
        _model.Apply(RedactionBy("@mod:other.test", topic.EventId!));

        Assert.Equal(("Kept", (string?)null), (Room.Name, Room.Topic));
    }

    [Fact]
    public void A_local_users_redaction_applies_and_encryption_is_never_cleared()
    {
        _model.Apply(Ev.State("m.room.create", """{"room_version":"10","creator":"@alice:localhost"}"""));
        var encryption = Ev.State("m.room.encryption", """{"algorithm":"m.megolm.v1.aes-sha2"}""");
        var avatar = Ev.State("m.room.avatar", """{"url":"mxc://localhost/a"}""");
        _model.Apply(encryption);
        _model.Apply(avatar);

        _model.Apply(RedactionBy(Bob, encryption.EventId!));
        _model.Apply(RedactionBy(Bob, avatar.EventId!));
        _model.Apply(Ev.State("m.room.encryption", "{}"));

        Assert.Equal(("m.megolm.v1.aes-sha2", (string?)null), (Room.Encryption, Room.AvatarUrl));
    }

    [Fact]
    public void In_room_v12_an_additional_creator_on_another_server_may_redact()
    {
        _model.Apply(Ev.State("m.room.create", """{"room_version":"12","additional_creators":["@co:other.test"]}"""));
        _model.Apply(Ev.State("m.room.power_levels", """{"users":{}}"""));
        var name = Ev.State("m.room.name", """{"name":"Goes"}""");
        _model.Apply(name);

        _model.Apply(RedactionBy("@co:other.test", name.EventId!));

        Assert.Null(Room.Name);
    }
}
