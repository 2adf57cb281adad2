using System.Text.Json;
using AppService.Simulator.Workload;

namespace AppService.Simulator.Tests.Workload;

public class EventSerializerTests
{
    private static SimEvent StateWithPrevious() => new()
    {
        Index = 5, EventId = "$b/c+d", RoomId = "!r:localhost", Type = "m.room.topic", Sender = "@a:localhost", StateKey = "",
        OriginServerTs = 1_700_000_000_123, Content = Json.Object(("topic", "new")), PrevContent = Json.Object(("topic", "old")),
        PrevSender = "@b:localhost", ReplacesState = "$a",
    };

    private static JsonElement Only(byte[] body) => JsonDocument.Parse(body).RootElement.GetProperty("events")[0];

    [Fact]
    public void A_transaction_body_is_a_client_event_array_under_events()
    {
        var e = Only(EventSerializer.SerializeTransaction([StateWithPrevious()], SendVariant.First));

        Assert.Equal("$b/c+d", e.GetProperty("event_id").GetString());
        Assert.Equal("", e.GetProperty("state_key").GetString());
        Assert.Equal(1_700_000_000_123, e.GetProperty("origin_server_ts").GetInt64());
        Assert.Equal("new", e.GetProperty("content").GetProperty("topic").GetString());
        Assert.Equal("old", e.GetProperty("unsigned").GetProperty("prev_content").GetProperty("topic").GetString());
        Assert.Equal("$a", e.GetProperty("unsigned").GetProperty("replaces_state").GetString());
    }

    [Fact]
    public void A_message_has_no_state_key()
    {
        var e = Only(EventSerializer.SerializeTransaction([Ev.Message()], SendVariant.First));

        Assert.False(e.TryGetProperty("state_key", out _));
    }

    [Fact]
    public void A_synapse_retry_drops_prev_content_and_sends_messages_redacted_in_the_meantime()
    {
        var message = Ev.Message();
        message.RedactedByIndex = 99;

        var body = EventSerializer.SerializeTransaction([StateWithPrevious(), message], SendVariant.SynapseRetry);

        var events = JsonDocument.Parse(body).RootElement.GetProperty("events");
        Assert.False(events[0].GetProperty("unsigned").TryGetProperty("prev_content", out _));
        Assert.Equal("$a", events[0].GetProperty("unsigned").GetProperty("replaces_state").GetString());
        Assert.Equal("new", events[0].GetProperty("content").GetProperty("topic").GetString());
        Assert.Empty(events[1].GetProperty("content").EnumerateObject());
    }

    [Fact]
    public void Missing_fields_of_poison_are_left_out_and_odd_content_is_kept_verbatim()
    {
        var poison = new SimEvent
        {
            Index = -1, EventId = null, RoomId = "!r:localhost", Type = null, Sender = "@a:localhost", OriginServerTs = 1,
            Content = "\"not an object\""u8.ToArray(),
        };

        var e = Only(EventSerializer.SerializeTransaction([poison], SendVariant.First));

        Assert.False(e.TryGetProperty("event_id", out _));
        Assert.False(e.TryGetProperty("type", out _));
        Assert.Equal("not an object", e.GetProperty("content").GetString());
    }

    [Fact]
    public void Non_ascii_text_is_sent_as_utf8_and_only_astral_characters_are_escaped()
    {
        var e = Ev.Make("m.room.message", "@a:localhost", null, Json.Object(("body", "Zoë 日本 <b> 🚀")));

        var json = System.Text.Encoding.UTF8.GetString(EventSerializer.Serialize(e));

        Assert.Contains("Zoë 日本 <b> \\uD83D\\uDE80", json, StringComparison.Ordinal);
    }
}
