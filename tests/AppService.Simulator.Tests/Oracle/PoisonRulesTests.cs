using AppService.Simulator.Oracle;
using AppService.Simulator.Sending;
using AppService.Simulator.Workload;

namespace AppService.Simulator.Tests.Oracle;

public class PoisonRulesTests
{
    public static TheoryData<string> Kinds => new(PoisonFactory.Kinds);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_injected_poison_kind_is_poison_by_the_rules(string kind)
    {
        var factory = new PoisonFactory(new SeededRandom(1), "localhost");

        var poison = factory.Create(kind, Ev.Member("@alice:localhost", "@alice:localhost", "join"));

        Assert.NotNull(PoisonRules.Classify(poison));
    }

    [Fact]
    public void A_60_KiB_event_is_valid_and_a_70_KiB_one_is_poison()
    {
        var big = Ev.Make("m.room.message", "@alice:localhost", null, Json.Object(("body", new string('x', 60_000))));
        var tooBig = Ev.Make("m.room.message", "@alice:localhost", null, Json.Object(("body", new string('x', 70_000))));

        Assert.Null(PoisonRules.Classify(big));
        Assert.NotNull(PoisonRules.Classify(tooBig));
    }

    [Fact]
    public void Unsigned_does_not_count_towards_the_size_limit()
    {
        var e = new SimEvent
        {
            Index = 1, EventId = "$a:localhost", RoomId = "!r:localhost", Type = "m.room.member", Sender = "@a:localhost", StateKey = "@b:localhost",
            OriginServerTs = 1, Content = Json.Object(("membership", "invite")),
            InviteRoomState = Json.Array([Json.Object(("type", "m.room.topic"), ("content", new RawJson(Json.Object(("topic", new string('t', 70_000))))))]),
        };

        Assert.Null(PoisonRules.Classify(e));
        Assert.True(EventSerializer.Serialize(e).Length > PoisonRules.MaxEventBytes);
    }

    [Fact]
    public void Wrong_types_in_fields_that_are_not_projected_are_not_poison()
    {
        var e = Ev.State("m.room.name", """{"name":123}""", stateKey: "not-room-info");

        Assert.Null(PoisonRules.Classify(e));
    }
}
