using System.Text.Json.Nodes;
using AppService.Matrix;
using AppService.Projections;
using static AppService.Tests.Projections.Events;

namespace AppService.Tests.Projections;

/// <summary>Issue 16: a snapshot that says the bot is out keeps no member data; what a drift check found, labelled.</summary>
public sealed class BotNotJoinedAndDriftKindsTests : IDisposable
{
    private const long FetchStarted = 1000;
    private readonly Events _events = new();

    public void Dispose() => _events.Dispose();

    [Theory]
    [InlineData(Memberships.Leave)]
    [InlineData(Memberships.Ban)]
    public void A_snapshot_in_which_the_bot_is_out_deletes_every_member_row_and_sets_its_membership(string botMembership)
    {
        var room = new RoomInfo(Room) { BotMembership = Memberships.Join };
        var plan = Resync.Plan(
            room,
            [
                _events.Member(Bot, botMembership, sender: Alice, eventId: "$bot-out"),
                _events.Member(Alice, Memberships.Join, eventId: "$alice"),
            ],
            [_events.State(EventTypes.Name, new JsonObject { ["name"] = "As of the kick" }, eventId: "$name")],
            [new SeenMember(Row(Alice, Memberships.Join, "$alice"), 10), new SeenMember(Row(Bot, Memberships.Join, "$bot-in"), 11)],
            [],
            Bot,
            keepSetSince: FetchStarted,
            snapshotAt: Now,
            Now);

        Assert.Equal(botMembership, plan.Room.BotMembership);
        Assert.Empty(plan.MemberUpserts);
        Assert.Equal([Alice, Bot], plan.MemberDeletes);
        Assert.Empty(plan.StateDeletes); // the member rows were the member keys' only copy
        Assert.Equal("As of the kick", plan.Room.Name);
        Assert.False(plan.Room.Suspect);
    }

    [Fact]
    public void A_newer_pushed_rejoin_of_the_bot_keeps_the_member_list()
    {
        var room = new RoomInfo(Room) { BotMembership = Memberships.Join };
        var plan = Resync.Plan(
            room,
            [_events.Member(Bot, Memberships.Leave, sender: Alice, eventId: "$bot-out"), _events.Member(Alice, Memberships.Join, eventId: "$alice")],
            [],
            [new SeenMember(Row(Bot, Memberships.Join, "$bot-rejoin"), FetchStarted + 1)],
            [],
            Bot,
            keepSetSince: FetchStarted,
            snapshotAt: Now,
            Now);

        Assert.Equal(Memberships.Join, plan.Room.BotMembership);
        Assert.Contains(plan.MemberUpserts, m => m.UserId == Alice);
    }

    private static DriftReport Report(params string[] stateDiffers) => new([], [], []) { StateDiffers = stateDiffers };

    [Fact]
    public void A_current_event_we_never_processed_is_a_missed_event()
    {
        var theirs = _events.State(EventTypes.Topic, new JsonObject { ["topic"] = "new" }, eventId: "$never-pushed");
        var kinds = Drift.Classify(Report(EventTypes.Topic), [theirs], [new SeenState(EventTypes.Topic, "", "$ours", 5)], new Dictionary<string, long>());
        Assert.Equal([DriftKinds.MissedEvents], kinds);
    }

    [Fact]
    public void A_current_event_older_than_ours_is_a_state_reset_and_so_is_a_vanished_key()
    {
        var theirs = _events.State(EventTypes.Topic, new JsonObject { ["topic"] = "old" }, eventId: "$older");
        var ours = new[] { new SeenState(EventTypes.Topic, "", "$newer", 20), new SeenState(EventTypes.Name, "", "$name", 7) };
        var kinds = Drift.Classify(Report(EventTypes.Topic, EventTypes.Name), [theirs], ours, new Dictionary<string, long> { ["$older"] = 10 });
        Assert.Equal([DriftKinds.StateReset], kinds);
    }

    [Fact]
    public void A_current_event_newer_than_the_one_we_hold_is_a_stale_snapshot()
    {
        var theirs = _events.State(EventTypes.Topic, new JsonObject { ["topic"] = "new" }, eventId: "$newer");
        var kinds = Drift.Classify(Report(EventTypes.Topic), [theirs], [new SeenState(EventTypes.Topic, "", "$older", 10)], new Dictionary<string, long> { ["$newer"] = 20 });
        Assert.Equal([DriftKinds.StaleSnapshot], kinds);
    }

    [Fact]
    public void Member_differences_are_missed_events()
    {
        var kinds = Drift.Classify(new DriftReport([Alice], [], []), [], [], new Dictionary<string, long>());
        Assert.Equal([DriftKinds.MissedEvents], kinds);
    }
}
