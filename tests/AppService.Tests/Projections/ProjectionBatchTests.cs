using System.Text.Json.Nodes;
using AppService.Matrix;
using AppService.Projections;
using static AppService.Tests.Projections.Events;

namespace AppService.Tests.Projections;

public sealed class ProjectionBatchTests : IDisposable
{
    private const string OtherRoom = "!other:hs.test";

    private readonly Events _events = new();
    private readonly ProjectionBatch _batch = new(Bot, Now);

    public void Dispose() => _events.Dispose();

    private void Apply(params MatrixEvent[] events)
    {
        foreach (var e in events)
        {
            _batch.Apply(e);
        }
    }

    private void LoadJoined(string roomId, params string[] userIds)
    {
        _batch.LoadRoom(new RoomInfo(roomId) { Name = "Loaded", BotMembership = Memberships.Join, UpdatedAt = Earlier });
        foreach (string userId in userIds)
        {
            _events.LoadMember(_batch, new RoomMember(roomId, userId, Memberships.Join) { EventId = $"$join-{userId}", Sender = userId, UpdatedAt = Earlier });
        }
    }

    private IEnumerable<(string RoomId, string Type, string StateKey)> MemberStateKeys(string roomId) =>
        _batch.StateWrites.Keys.Where(k => k.RoomId == roomId && k.Type == EventTypes.Member);

    [Fact]
    public void A_message_only_creates_the_room_row()
    {
        Apply(_events.Message());

        var room = Assert.Single(_batch.DirtyRooms);
        Assert.Equal(new RoomInfo(Room) { UpdatedAt = Now }, room);
        Assert.Empty(_batch.DirtyMembers);
        Assert.Empty(_batch.StateWrites);
        Assert.Empty(_batch.PurgedRooms);
        Assert.Empty(_batch.MembershipChanges);
    }

    [Fact]
    public void A_message_in_a_loaded_room_writes_nothing()
    {
        LoadJoined(Room, Alice);

        Apply(_events.Message());

        Assert.Empty(_batch.DirtyRooms);
        Assert.Empty(_batch.DirtyMembers);
        Assert.Equal(Earlier, _batch.Room(Room)!.UpdatedAt);
    }

    [Fact]
    public void A_member_event_without_state_key_is_a_message()
    {
        LoadJoined(Room, Alice);

        Apply(_events.Parse("""
            {"event_id":"$m","room_id":"!room:hs.test","type":"m.room.member","sender":"@alice:hs.test",
             "content":{"membership":"leave"}}
            """));

        Assert.Equal(Memberships.Join, _batch.Member(Room, Alice)!.Membership);
        Assert.Empty(_batch.DirtyMembers);
        Assert.Empty(_batch.StateWrites);
    }

    [Fact]
    public void Room_info_events_change_the_loaded_row_and_keep_its_other_fields()
    {
        _batch.LoadRoom(new RoomInfo(Room) { Topic = "Kept", BotMembership = Memberships.Join, UpdatedAt = Earlier });

        Apply(_events.State(EventTypes.Name, new JsonObject { ["name"] = "Lobby" }));

        var room = Assert.Single(_batch.DirtyRooms);
        Assert.Equal(new RoomInfo(Room) { Name = "Lobby", Topic = "Kept", BotMembership = Memberships.Join, UpdatedAt = Now }, room);
    }

    [Fact]
    public void Events_apply_in_transaction_order()
    {
        Apply(
            _events.State(EventTypes.Name, new JsonObject { ["name"] = "First" }),
            _events.Member(Alice, "invite", sender: Bob),
            _events.State(EventTypes.Name, new JsonObject { ["name"] = "Second" }),
            _events.Member(Alice, "join"),
            _events.Member(Alice, "leave", sender: Mod, eventId: "$kick"));

        Assert.Equal("Second", _batch.Room(Room)!.Name);
        var alice = Assert.Single(_batch.DirtyMembers);
        Assert.Equal((Memberships.Leave, "$kick", Mod), (alice.Membership, alice.EventId, alice.Sender));
        Assert.Equal(
            [MembershipChange.Invited, MembershipChange.Joined, MembershipChange.Kicked],
            _batch.MembershipChanges.Select(c => c.Change));
    }

    [Fact]
    public void Loaded_rows_are_the_previous_state()
    {
        LoadJoined(Room, Alice, Bob);
        var prevInvite = new JsonObject { ["prev_content"] = new JsonObject { ["membership"] = "invite" } };

        Apply(
            _events.Member(Alice, "join", content: new JsonObject { ["displayname"] = "Alice" }),
            _events.Member(Bob, "leave", unsigned: prevInvite));

        Assert.Equal(
            [MembershipChange.ProfileChanged, MembershipChange.Left],
            _batch.MembershipChanges.Select(c => c.Change));
        Assert.Equal("Alice", _batch.Member(Room, Alice)!.DisplayName);
    }

    [Fact]
    public void A_row_changed_earlier_in_the_batch_is_the_previous_state_of_the_next_event()
    {
        Apply(_events.Member(Alice, "invite", sender: Bob), _events.Member(Alice, "leave"));

        Assert.Equal(
            [MembershipChange.Invited, MembershipChange.InviteRejected],
            _batch.MembershipChanges.Select(c => c.Change));
    }

    [Fact]
    public void A_room_state_event_with_a_non_empty_state_key_does_not_touch_room_info()
    {
        LoadJoined(Room);

        var odd = _events.State(EventTypes.Name, new JsonObject { ["name"] = "Not the room name" }, stateKey: "x", eventId: "$odd");
        Apply(odd);

        Assert.Equal("Loaded", _batch.Room(Room)!.Name);
        Assert.Empty(_batch.DirtyRooms);
        Assert.Equal("$odd", _batch.StateWrites[(Room, EventTypes.Name, "x")]);
    }

    [Fact]
    public void State_the_projections_do_not_read_is_still_recorded_as_current_state()
    {
        LoadJoined(Room);

        Apply(_events.State("m.room.pinned_events", new JsonObject { ["pinned"] = new JsonArray("$a") }, eventId: "$pins"));

        Assert.Empty(_batch.DirtyRooms);
        Assert.Equal("$pins", _batch.StateWrites[(Room, "m.room.pinned_events", "")]);
    }

    [Fact]
    public void State_writes_keep_the_latest_event_per_room_type_and_state_key_and_member_keys_only_in_member_rows()
    {
        Apply(
            _events.State(EventTypes.Name, new JsonObject { ["name"] = "a" }, eventId: "$name1"),
            _events.Member(Alice, "join", eventId: "$alice1"),
            _events.Member(Bob, "join", eventId: "$bob1"),
            _events.State(EventTypes.Name, new JsonObject { ["name"] = "b" }, eventId: "$name2"),
            _events.Member(Alice, "leave", eventId: "$alice2"),
            _events.State(EventTypes.Name, new JsonObject { ["name"] = "c" }, roomId: OtherRoom, eventId: "$other"));

        Assert.Equal(
            new Dictionary<(string, string, string), string>
            {
                [(Room, EventTypes.Name, "")] = "$name2",
                [(OtherRoom, EventTypes.Name, "")] = "$other",
            },
            _batch.StateWrites);
        Assert.Equal([(Alice, "$alice2"), (Bob, "$bob1")], _batch.DirtyMembers.Select(m => (m.UserId, m.EventId)));
    }

    [Fact]
    public void Dirty_rooms_and_members_come_out_sorted_by_ordinal_key()
    {
        // Ordinal order: upper case before lower case, so "!B..." < "!a...".
        Apply(
            _events.Member("@zed:hs.test", "join", roomId: "!a:hs.test"),
            _events.Member("@amy:hs.test", "join", roomId: "!a:hs.test"),
            _events.Member("@Max:hs.test", "join", roomId: "!a:hs.test"),
            _events.Member("@bea:hs.test", "join", roomId: "!B:hs.test"),
            _events.Message(roomId: "!0:hs.test"));

        Assert.Equal(["!0:hs.test", "!B:hs.test", "!a:hs.test"], _batch.DirtyRooms.Select(r => r.RoomId));
        Assert.Equal(
            [("!B:hs.test", "@bea:hs.test"), ("!a:hs.test", "@Max:hs.test"), ("!a:hs.test", "@amy:hs.test"), ("!a:hs.test", "@zed:hs.test")],
            _batch.DirtyMembers.Select(m => (m.RoomId, m.UserId)));
    }

    [Theory]
    [InlineData("leave", Bot, MembershipChange.Left)]
    [InlineData("leave", Mod, MembershipChange.Kicked)]
    [InlineData("ban", Mod, MembershipChange.Banned)]
    public void The_bot_leaving_purges_the_rooms_members(string membership, string sender, MembershipChange expected)
    {
        LoadJoined(Room, Alice, Bob, Bot);
        LoadJoined(OtherRoom, Alice);
        Apply(
            _events.Member("@carol:hs.test", "join"),
            _events.State(EventTypes.Name, new JsonObject { ["name"] = "Renamed" }, eventId: "$name"),
            _events.Member(Alice, "join", roomId: OtherRoom, content: new JsonObject { ["displayname"] = "A" }),
            _events.Member(Bot, membership, sender: sender, eventId: "$bot-out"));

        Assert.Equal([Room], _batch.PurgedRooms);
        Assert.DoesNotContain(_batch.DirtyMembers, m => m.RoomId == Room);
        Assert.Empty(MemberStateKeys(Room));
        Assert.Null(_batch.Member(Room, Alice));
        Assert.Null(_batch.Member(Room, Bot));
        Assert.Equal(expected, _batch.MembershipChanges[^1].Change);

        var room = _batch.Room(Room)!;
        Assert.Equal((membership, "Renamed", Now), (room.BotMembership, room.Name, room.UpdatedAt));
        Assert.Contains(room, _batch.DirtyRooms);
        Assert.Equal("$name", _batch.StateWrites[(Room, EventTypes.Name, "")]);

        // The other room is not touched.
        var other = Assert.Single(_batch.DirtyMembers, m => m.RoomId == OtherRoom);
        Assert.Equal((Alice, "A"), (other.UserId, other.DisplayName));
        Assert.Empty(MemberStateKeys(OtherRoom)); // its member event is in the member row only
    }

    [Fact]
    public void Member_events_after_the_purge_create_rows_again()
    {
        LoadJoined(Room, Alice, Bot);

        Apply(
            _events.Member(Bot, "leave", sender: Alice),
            _events.Member(Bot, "invite", sender: Alice, eventId: "$reinvite"),
            _events.Member(Alice, "leave", eventId: "$alice-left"));

        Assert.Equal([Room], _batch.PurgedRooms);
        Assert.Equal(
            [(Alice, Memberships.Leave, "$alice-left"), (Bot, Memberships.Invite, "$reinvite")],
            _batch.DirtyMembers.Select(m => (m.UserId, m.Membership, m.EventId)));
        Assert.Empty(_batch.StateWrites);
        Assert.Equal(Memberships.Invite, _batch.Room(Room)!.BotMembership);

        // The purged rows are gone, so Alice's previous membership is the default (leave), not her loaded join.
        Assert.Equal(
            [MembershipChange.Kicked, MembershipChange.Invited, MembershipChange.Left],
            _batch.MembershipChanges.Select(c => c.Change));
    }

    [Fact]
    public void Another_users_leave_does_not_purge()
    {
        LoadJoined(Room, Alice, Bob, Bot);

        Apply(_events.Member(Alice, "leave"), _events.Member(Bob, "ban", sender: Bot));

        Assert.Empty(_batch.PurgedRooms);
        Assert.Equal([(Alice, Memberships.Leave), (Bob, Memberships.Ban)], _batch.DirtyMembers.Select(m => (m.UserId, m.Membership)));
        Assert.Equal(Memberships.Join, _batch.Member(Room, Bot)!.Membership);
        Assert.Equal(Memberships.Join, _batch.Room(Room)!.BotMembership);
        Assert.Empty(_batch.DirtyRooms);
    }

    [Fact]
    public void The_bot_joining_sets_bot_membership_without_a_purge()
    {
        Apply(_events.Member(Bot, "invite", sender: Alice), _events.Member(Bot, "join"));

        Assert.Empty(_batch.PurgedRooms);
        Assert.Equal(Memberships.Join, _batch.Room(Room)!.BotMembership);
        var bot = Assert.Single(_batch.DirtyMembers);
        Assert.Equal((Bot, Memberships.Join), (bot.UserId, bot.Membership));
    }

    [Fact]
    public void A_batch_with_no_events_writes_nothing()
    {
        LoadJoined(Room, Alice);

        Assert.Empty(_batch.DirtyRooms);
        Assert.Empty(_batch.DirtyMembers);
        Assert.Empty(_batch.StateWrites);
        Assert.Empty(_batch.PurgedRooms);
        Assert.NotNull(_batch.Room(Room));
        Assert.Null(_batch.Room(OtherRoom));
    }
}
