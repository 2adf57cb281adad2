using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AppService.Simulator.Homeserver;
using AppService.Simulator.Oracle;
using AppService.Simulator.Sending;
using AppService.Simulator.Workload;

namespace AppService.Simulator.Tests.Homeserver;

/// <summary>
/// The homeserver-mode oracle against a hand-written admin API: it passes a projection equal to the homeserver's
/// current state and names every difference, and leaves out at quiescence only what no push could have carried.
/// </summary>
public class HsOracleTests
{
    private const string Alice = "@alice:localhost";
    private const string Bob = "@bob:localhost";

    /// <summary>An admin API serving one room and its member rows as given.</summary>
    private sealed class StubAdmin(JsonObject room, JsonArray members) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            var body = path.EndsWith("/members", StringComparison.Ordinal)
                ? new JsonObject { ["members"] = members.DeepClone() }
                : room.DeepClone();
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
            });
        }
    }

    private static (HsWorld World, HsRoom Room) JoinedRoom()
    {
        var world = new HsWorld("o", Ev.Bot, HomeserverMode.Synapse);
        var room = world.AddRoom(0, "11", Alice);
        world.Append(room, "m.room.create", "", Alice, Json.Object(("room_version", "11")));
        world.Append(room, "m.room.member", Alice, Alice, Json.Object(("membership", "join"), ("displayname", "Alice")));
        world.Append(room, "m.room.name", "", Alice, Json.Object(("name", "Ops")));
        world.Append(room, "m.room.member", Ev.Bot, Alice, Json.Object(("membership", "invite")));
        room.BotInvitedOnce = true;
        world.Join(room.RoomId);
        return (world, room);
    }

    /// <summary>What a correct service holds for the room: its info and one row per current member event.</summary>
    private static (JsonObject Room, JsonArray Members) Projection(HsRoom room, string? name = "Ops")
    {
        var members = new JsonArray();
        foreach (var (key, e) in room.State.Where(s => s.Key.Type == "m.room.member"))
        {
            members.Add(new JsonObject
            {
                ["user_id"] = key.StateKey,
                ["membership"] = HsRoom.MembershipOf(e),
                ["displayname"] = HomeserverState.ReadString(e.Content, "displayname"),
                ["avatar_url"] = null,
                ["event_id"] = e.EventId,
            });
        }
        var info = new JsonObject
        {
            ["room_id"] = room.RoomId, ["name"] = name, ["topic"] = null, ["canonical_alias"] = null, ["avatar_url"] = null,
            ["join_rule"] = null, ["history_visibility"] = null, ["encryption"] = null, ["room_version"] = "11", ["creator"] = Alice,
            ["room_type"] = null, ["tombstone_successor"] = null, ["bot_membership"] = room.BotMembership,
            ["joined_member_count"] = members.Count(m => (string?)m!["membership"] == "join"),
            ["invited_member_count"] = members.Count(m => (string?)m!["membership"] == "invite"),
            ["suspect"] = false,
        };
        return (info, members);
    }

    private static async Task<List<CheckResult>> CheckAsync(HsWorld world, JsonObject room, JsonArray members, HsOracle.CheckMode mode)
    {
        using var http = new HttpClient(new StubAdmin(room, members));
        var admin = new AdminApiClient(http, new Uri("http://service.test/"), "admin");
        return await new HsOracle(world, admin).CheckAsync(mode, seed: 42, CancellationToken.None);
    }

    [Fact]
    public async Task A_projection_equal_to_the_homeserver_state_passes()
    {
        var (world, room) = JoinedRoom();
        var (info, members) = Projection(room);

        var results = await CheckAsync(world, info, members, HsOracle.CheckMode.AfterResync);

        Assert.True(results.All(r => r.Passed), string.Join("\n", results.Where(r => !r.Passed).Select(r => r.Name + ": " + r.Detail)));
        Assert.Contains(results, r => r.Name.EndsWith(" name", StringComparison.Ordinal));
        Assert.Contains(results, r => r.Name.EndsWith(" members", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_soft_failed_name_applied_by_the_service_is_a_difference_naming_the_seed()
    {
        var (world, room) = JoinedRoom();
        world.Append(room, "m.room.name", "", Bob, Json.Object(("name", "Spam")), softFailed: true);
        var (info, members) = Projection(room, name: "Spam");

        var results = await CheckAsync(world, info, members, HsOracle.CheckMode.AtQuiescence);

        var failure = Assert.Single(results, r => !r.Passed);
        Assert.EndsWith(" name", failure.Name, StringComparison.Ordinal);
        Assert.Contains("seed 42: expected 'Ops', service has 'Spam'", failure.Detail, StringComparison.Ordinal);
        Assert.Contains("soft-failed", failure.Detail, StringComparison.Ordinal); // the key's history
    }

    [Fact]
    public async Task A_state_reset_after_the_bot_joined_is_left_out_at_quiescence_but_not_after_the_final_resync()
    {
        var (world, room) = JoinedRoom();
        var ops = room.State[("m.room.name", "")];
        world.Append(room, "m.room.name", "", Alice, Json.Object(("name", "Renamed")));
        var (info, members) = Projection(room, name: "Renamed"); // what the pushes said
        world.ResetState(room, ("m.room.name", ""), ops);

        Assert.All(await CheckAsync(world, info, members, HsOracle.CheckMode.AtQuiescence), r => Assert.True(r.Passed, r.Detail));
        var failure = Assert.Single(await CheckAsync(world, info, members, HsOracle.CheckMode.AfterResync), r => !r.Passed);
        Assert.Contains("expected 'Ops', service has 'Renamed'", failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Member_rows_kept_after_the_bot_was_kicked_are_a_difference()
    {
        var (world, room) = JoinedRoom();
        var (info, members) = Projection(room);
        world.Append(room, "m.room.member", Ev.Bot, Alice, Json.Object(("membership", "leave")));
        info["bot_membership"] = "leave";

        var failure = Assert.Single(await CheckAsync(world, info, members, HsOracle.CheckMode.AtQuiescence), r => !r.Passed);

        Assert.EndsWith(" members", failure.Name, StringComparison.Ordinal);
        Assert.Contains("no rows expected", failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_room_left_suspect_or_a_bot_left_invited_is_a_difference()
    {
        var (world, room) = JoinedRoom();
        var (info, members) = Projection(room);
        info["suspect"] = true;
        Assert.Contains(await CheckAsync(world, info, members, HsOracle.CheckMode.AtQuiescence), r => !r.Passed && r.Name.EndsWith(" suspect", StringComparison.Ordinal));

        world.Append(room, "m.room.member", Ev.Bot, Alice, Json.Object(("membership", "leave")));
        world.Append(room, "m.room.member", Ev.Bot, Alice, Json.Object(("membership", "invite")));
        var (stillInvited, none) = (Projection(room).Room, new JsonArray());
        Assert.Contains(await CheckAsync(world, stillInvited, none, HsOracle.CheckMode.AtQuiescence), r => !r.Passed && r.Name.EndsWith(" invite accepted", StringComparison.Ordinal));
    }
}
