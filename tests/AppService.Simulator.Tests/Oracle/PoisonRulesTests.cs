using AppService.Simulator.Oracle;
using AppService.Simulator.Sending;
using AppService.Simulator.Workload;

namespace AppService.Simulator.Tests.Oracle;

public class PoisonRulesTests
{
    public static TheoryData<string> RejectedKinds => new(PoisonFactory.RejectedKinds);

    public static TheoryData<string> AppliedKinds => new(PoisonFactory.AppliedKinds);

    [Theory]
    [MemberData(nameof(RejectedKinds))]
    public void Every_injected_poison_kind_is_poison_by_the_rules(string kind)
    {
        var factory = new PoisonFactory(new SeededRandom(1), "localhost");

        var poison = factory.Create(kind, Ev.Member("@alice:localhost", "@alice:localhost", "join"));

        Assert.NotNull(PoisonRules.Classify(poison));
    }

    [Theory]
    [MemberData(nameof(AppliedKinds))]
    public void Every_hostile_but_valid_kind_is_valid_by_the_rules(string kind)
    {
        var factory = new PoisonFactory(new SeededRandom(1), "localhost");

        var hostile = factory.Create(kind, Ev.Member("@alice:localhost", "@alice:localhost", "join"));

        Assert.Null(PoisonRules.Classify(hostile));
    }

    [Theory]
    [MemberData(nameof(RejectedKinds))]
    [MemberData(nameof(AppliedKinds))]
    public void Every_kind_serialises_to_a_utf8_json_transaction_with_the_hostile_bytes_intact(string kind)
    {
        var factory = new PoisonFactory(new SeededRandom(1), "localhost");
        var e = factory.Create(kind, Ev.Member("@alice:localhost", "@alice:localhost", "join"));

        byte[] body = EventSerializer.SerializeTransaction([e], SendVariant.First);

        Assert.True(System.Text.Unicode.Utf8.IsValid(body));
        using var doc = System.Text.Json.JsonDocument.Parse(body, JsonStrings.Deep);
        string text = System.Text.Encoding.UTF8.GetString(body);
        switch (kind)
        {
            case "surrogate-event-id" or "surrogate-displayname":
                Assert.Contains("\\ud800", text, StringComparison.Ordinal);
                break;
            case "surrogate-state-key":
                Assert.Contains("\\udc00", text, StringComparison.Ordinal);
                break;
            case "nul-event-id" or "nul-state-key" or "nul-displayname" or "nul-name" or "nul-topic":
                Assert.Contains("\\u0000", text, StringComparison.Ordinal);
                break;
            case "huge-number":
                Assert.Contains("1e999999", text, StringComparison.Ordinal);
                break;
            case "deep-2000":
                Assert.Equal(2001, JsonStrings.Depth(e.Content));
                break;
            case "deep-100":
                Assert.Equal(101, JsonStrings.Depth(e.Content));
                break;
            case "long-event-id":
                Assert.Equal(3 * 1024 + 1, e.EventId!.Length);
                break;
        }
    }

    [Theory]
    [InlineData("nul-displayname", "Eve ")]
    [InlineData("surrogate-displayname", "Eve\uFFFD ")]
    public void A_display_name_with_NUL_or_a_lone_surrogate_is_expected_sanitised(string kind, string prefix)
    {
        var factory = new PoisonFactory(new SeededRandom(1), "localhost");
        var e = factory.Create(kind, Ev.Member("@alice:localhost", "@alice:localhost", "join"));
        var projection = new ExpectedProjection(Ev.Bot);

        Assert.Equal(ApplyOutcome.Applied, projection.Apply(e));

        var row = projection.Rooms[Ev.Room].Members[e.StateKey!];
        Assert.Equal(prefix + e.Index, row.Displayname);
        Assert.DoesNotContain('\0', row.Displayname!);
    }

    [Fact]
    public void Room_name_and_topic_with_NUL_are_expected_without_it()
    {
        var factory = new PoisonFactory(new SeededRandom(1), "localhost");
        var near = Ev.Member("@alice:localhost", "@alice:localhost", "join");
        var name = factory.Create("nul-name", near);
        var topic = factory.Create("nul-topic", near);
        var projection = new ExpectedProjection(Ev.Bot);

        projection.Apply(name);
        projection.Apply(topic);

        Assert.Equal("Name " + name.Index, projection.Rooms[Ev.Room].Name);
        Assert.Equal("Topic " + topic.Index, projection.Rooms[Ev.Room].Topic);
    }

    [Theory]
    [InlineData("nul-event-id")]
    [InlineData("surrogate-event-id")]
    [InlineData("long-event-id")]
    public void An_event_id_the_service_cannot_key_on_is_rejected_on_every_delivery(string kind)
    {
        var factory = new PoisonFactory(new SeededRandom(1), "localhost");
        var e = factory.Create(kind, Ev.Message());
        var projection = new ExpectedProjection(Ev.Bot);

        Assert.Equal(ApplyOutcome.Rejected, projection.Apply(e));
        Assert.Equal(ApplyOutcome.Rejected, projection.Apply(e));

        Assert.Equal(0, projection.RejectedCount);
        Assert.Equal(2, projection.RejectedWithoutIdDeliveries);
    }

    [Fact]
    public void Content_100_levels_deep_is_valid_and_2000_levels_deep_is_poison()
    {
        var factory = new PoisonFactory(new SeededRandom(1), "localhost");

        Assert.Null(PoisonRules.Classify(factory.Create("deep-100", Ev.Message())));
        Assert.Equal("content nested deeper than 1024 levels", PoisonRules.Classify(factory.Create("deep-2000", Ev.Message())));
    }

    [Fact]
    public void Sanitising_removes_NUL_replaces_lone_surrogates_and_keeps_pairs()
    {
        Assert.Equal("Eve", JsonStrings.Sanitize("E\0ve\0"));
        Assert.Equal("a\uFFFDb\uFFFD", JsonStrings.Sanitize("a\ud800b\udc00"));
        Assert.Equal("\ud83d\ude00", JsonStrings.Sanitize("\ud83d\ude00"));
        Assert.Equal("\uFFFD\uFFFD", JsonStrings.Sanitize("\udc00\ud800"));
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
