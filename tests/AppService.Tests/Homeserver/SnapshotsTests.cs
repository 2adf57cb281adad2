using System.Text.Json;
using AppService.Homeserver;
using AppService.Matrix;

namespace AppService.Tests.Homeserver;

public sealed class SnapshotsTests
{
    private const string Room = "!room:hs.test";

    [Fact]
    public void Members_are_read_from_the_chunk_and_unusable_entries_are_counted()
    {
        var snapshot = Snapshots.ParseMembers(Json("""
            {"chunk": [
              {"event_id":"$a","room_id":"!room:hs.test","type":"m.room.member","state_key":"@alice:hs.test","sender":"@alice:hs.test",
               "content":{"membership":"join","displayname":"Alice"}},
              {"event_id":"$b","type":"m.room.member","state_key":"@bob:hs.test","sender":"@bob:hs.test","content":{"membership":"leave"}},
              {"event_id":"$c","room_id":"!other:hs.test","type":"m.room.member","state_key":"@c:hs.test","content":{"membership":"join"}},
              {"event_id":"$d","type":"m.room.member","state_key":"@d:hs.test","content":{"membership":"dancing"}},
              {"event_id":"$e","type":"m.room.member","content":{"membership":"join"}},
              {"type":"m.room.member","state_key":"@f:hs.test","content":{"membership":"join"}},
              {"event_id":"$g","type":"m.room.name","state_key":"","content":{"name":"not a member"}},
              "junk"
            ]}
            """), Room);

        Assert.Equal([("$a", "@alice:hs.test"), ("$b", "@bob:hs.test")], snapshot.Events.Select(e => (e.EventId, e.StateKey!)));
        Assert.All(snapshot.Events, e => Assert.Equal(Room, e.RoomId));
        Assert.Equal(6, snapshot.Skipped);
    }

    [Fact]
    public void State_is_read_from_an_array_of_state_events()
    {
        var snapshot = Snapshots.ParseState(Json("""
            [{"event_id":"$n","room_id":"!room:hs.test","type":"m.room.name","state_key":"","sender":"@a:hs.test","content":{"name":"N"}},
             {"event_id":"$m","room_id":"!room:hs.test","type":"m.room.message","sender":"@a:hs.test","content":{"body":"not state"}}]
            """), Room);

        Assert.Equal(EventTypes.Name, Assert.Single(snapshot.Events).Type);
        Assert.Equal(1, snapshot.Skipped);
    }

    [Fact]
    public void A_state_entry_with_a_property_name_nothing_reads_is_used_and_that_name_left_out()
    {
        // A federated server can put a lone surrogate among power_levels users; reading that name threw, which made
        // every run of the resync fail, for ever; then the entry was skipped. No sender can have such an id, so only
        // that name is left out (issue 16 point 4): the room's power levels are still known.
        var snapshot = Snapshots.ParseState(Json("""
            [{"event_id":"$p","room_id":"!room:hs.test","type":"m.room.power_levels","state_key":"","sender":"@a:hs.test",
              "content":{"users":{"\ud800":100,"@a:hs.test":100}}},
             {"event_id":"$n","room_id":"!room:hs.test","type":"m.room.name","state_key":"","sender":"@a:hs.test","content":{"name":"N"}}]
            """), Room);

        Assert.Equal(["$p", "$n"], snapshot.Events.Select(e => e.EventId));
        Assert.Equal(0, snapshot.Skipped);
        var room = snapshot.Events.Aggregate(new AppService.Projections.RoomInfo(Room),
            (r, e) => AppService.Projections.RoomInfoProjector.Apply(r, e, DateTimeOffset.UnixEpoch));
        Assert.Equal("N", room.Name);
        Assert.Equal(["@a:hs.test"], AppService.Projections.PowerLevels.FromJson(room.PowerLevels)!.Users.Keys);
    }

    [Fact]
    public void Joined_members_map_user_ids_to_profiles()
    {
        var joined = Snapshots.ParseJoinedMembers(Json("""
            {"joined": {"@a:hs.test": {"display_name": "A", "avatar_url": "mxc://hs.test/a"}, "@b:hs.test": {}}}
            """));

        Assert.Equal(("A", "mxc://hs.test/a"), (joined["@a:hs.test"].DisplayName, joined["@a:hs.test"].AvatarUrl));
        Assert.Equal((null, null), (joined["@b:hs.test"].DisplayName, joined["@b:hs.test"].AvatarUrl));
    }

    [Theory]
    [InlineData("members", """{"chunk": {}}""")]
    [InlineData("members", """[]""")]
    [InlineData("state", """{"events": []}""")]
    [InlineData("joined", """{"joined": []}""")]
    public void An_answer_of_the_wrong_shape_is_a_transient_bad_json_error(string endpoint, string body)
    {
        var root = Json(body);
        var e = Assert.Throws<MatrixApiException>(() => endpoint switch
        {
            "members" => Snapshots.ParseMembers(root, Room).Events.Count,
            "state" => Snapshots.ParseState(root, Room).Events.Count,
            _ => Snapshots.ParseJoinedMembers(root).Count,
        });

        Assert.Equal(MatrixError.Codes.BadJson, e.ErrCode);
        Assert.False(e.IsPermanent);
    }

    private static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}
