using System.Security.Cryptography;
using System.Text;
using AppService.Matrix;
using static AppService.Tests.Matrix.Bodies;

namespace AppService.Tests.Matrix;

public sealed class TransactionParserTests : IDisposable
{
    private const string Room = "!room:hs.test";

    private readonly Bodies _bodies = new();

    public void Dispose() => _bodies.Dispose();

    [Theory]
    [InlineData("""[]""")]
    [InlineData("""5""")]
    [InlineData("""null""")]
    [InlineData("""  "events" """)]
    [InlineData("""{}""")]
    [InlineData("""{"ephemeral":[]}""")]
    [InlineData("""{"events":{}}""")]
    [InlineData("""{"events":null}""")]
    [InlineData("""{"events":"[]"}""")]
    public void A_body_that_is_not_an_object_with_an_events_array_is_bad_json(string body)
    {
        var ex = Assert.Throws<TransactionBodyException>(() => _bodies.Parse(body));

        Assert.Equal(MatrixError.Codes.BadJson, ex.ErrCode);
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public void An_empty_events_array_is_a_valid_transaction()
    {
        var tx = _bodies.Parse("""{"events":[]}""");

        Assert.Empty(tx.Events);
        Assert.Empty(tx.Rejected);
        Assert.Equal(0, tx.TotalEvents);
        Assert.Equal(SHA256.HashData([]), tx.ContentHash);
    }

    [Fact]
    public void A_valid_event_keeps_its_fields()
    {
        var tx = _bodies.Events("""
            {"event_id":"$e1","room_id":"!room:hs.test","type":"m.room.topic","sender":"@alice:hs.test",
             "state_key":"","origin_server_ts":1780000000123,"content":{"topic":"Hello"},
             "unsigned":{"age":5,"replaces_state":"$e0"}}
            """);

        var e = Assert.Single(tx.Events);
        Assert.Empty(tx.Rejected);
        Assert.Equal(("$e1", Room, "m.room.topic", "@alice:hs.test", "", 1780000000123L), (e.EventId, e.RoomId, e.Type, e.Sender, e.StateKey, e.OriginServerTs));
        Assert.True(e.IsState);
        Assert.Equal("Hello", e.Content.GetProperty("topic").GetString());
        Assert.Equal(5, e.Unsigned!.Value.GetProperty("age").GetInt32());
        Assert.Equal("$e0", e.ReplacesState);
        Assert.Null(e.Redacts);
    }

    [Fact]
    public void An_event_without_state_key_is_a_message_and_optional_fields_may_be_missing()
    {
        var e = _bodies.Accepted("""{"event_id":"$e","room_id":"!room:hs.test","type":"m.room.message","content":{}}""");

        Assert.False(e.IsState);
        Assert.Null(e.StateKey);
        Assert.Equal("", e.Sender);
        Assert.Null(e.OriginServerTs);
        Assert.Null(e.Unsigned);
        Assert.Null(e.ReplacesState);
    }

    [Theory]
    [InlineData("""{"event_id":"$bad","room_id":"!room:hs.test","type":"m.room.message","content":{},"origin_server_ts":"yesterday"}""")]
    [InlineData("""{"event_id":"$bad","room_id":"!room:hs.test","type":"m.room.message","content":{},"origin_server_ts":1.5}""")]
    public void A_timestamp_that_is_not_an_integer_is_dropped(string json) =>
        Assert.Null(_bodies.Accepted(json).OriginServerTs);

    /// <summary>Events that would corrupt a projection or cannot be stored: (event JSON, a piece of the reason).</summary>
    public static TheoryData<string, string> Poison => new()
    {
        { """{"room_id":"!room:hs.test","type":"m.room.message","sender":"@a:hs.test","content":{}}""", "event_id" },
        { """{"event_id":"","room_id":"!room:hs.test","type":"m.room.message","sender":"@a:hs.test","content":{}}""", "event_id" },
        { """{"event_id":5,"room_id":"!room:hs.test","type":"m.room.message","sender":"@a:hs.test","content":{}}""", "event_id" },
        { """{"event_id":"$p","type":"m.room.message","sender":"@a:hs.test","content":{}}""", "room_id" },
        { """{"event_id":"$p","room_id":"!room:hs.test","sender":"@a:hs.test","content":{}}""", "'type'" },
        { """{"event_id":"$p","room_id":"!room:hs.test","type":"m.room.message","sender":"@a:hs.test"}""", "content" },
        { """{"event_id":"$p","room_id":"!room:hs.test","type":"m.room.message","sender":"@a:hs.test","content":[]}""", "content" },
        { """{"event_id":"$p","room_id":"!room:hs.test","type":"m.room.message","sender":"@a:hs.test","content":"hi"}""", "content" },
        { """{"event_id":"$p","room_id":"!room:hs.test","type":"m.room.message","sender":"@a:hs.test","content":null}""", "content" },
        { """{"event_id":"$p","room_id":"!room:hs.test","type":"m.room.message","sender":5,"content":{}}""", "sender" },
        { """{"event_id":"$p","room_id":"!room:hs.test","type":"m.room.name","sender":"@a:hs.test","state_key":5,"content":{}}""", "state_key" },
        { """{"event_id":"$p","room_id":"!room:hs.test","type":"m.room.name","sender":"@a:hs.test","state_key":null,"content":{}}""", "state_key" },
        { """{"event_id":"$p","room_id":"!room:hs.test","type":"m.room.member","sender":"@a:hs.test","state_key":"@a:hs.test","content":{}}""", "membership" },
        { """{"event_id":"$p","room_id":"!room:hs.test","type":"m.room.member","sender":"@a:hs.test","state_key":"@a:hs.test","content":{"membership":5}}""", "membership" },
        { """{"event_id":"$p","room_id":"!room:hs.test","type":"m.room.member","sender":"@a:hs.test","state_key":"@a:hs.test","content":{"membership":"dance"}}""", "unknown membership 'dance'" },
        { """{"event_id":"$p","room_id":"!room:hs.test","type":"m.room.member","sender":"@a:hs.test","state_key":"@a:hs.test","content":{"membership":"Join"}}""", "unknown membership 'Join'" },
        { """{"event_id":"$p","room_id":"!room:hs.test","type":"m.room.redaction","sender":"@a:hs.test","content":{"redacts":5}}""", "content.redacts" },
    };

    [Theory]
    [MemberData(nameof(Poison))]
    public void A_poison_event_is_rejected_with_a_reason_and_the_other_events_are_kept(string poison, string reasonPart)
    {
        var tx = _bodies.Events(Message("$before"), poison, Message("$after"));

        Assert.Equal(["$before", "$after"], tx.Events.Select(e => e.EventId));
        var rejected = Assert.Single(tx.Rejected);
        Assert.Contains(reasonPart, rejected.Reason, StringComparison.Ordinal);
        Assert.Equal(poison, rejected.RawJson);
        Assert.Equal(3, tx.TotalEvents);
    }

    [Fact]
    public void A_rejected_event_keeps_the_ids_it_had()
    {
        var (e, rejected) = _bodies.Event("""
            {"event_id":"$p","room_id":"!room:hs.test","type":"m.room.member","sender":"@a:hs.test","state_key":"@a:hs.test","content":{"membership":"dance"}}
            """);

        Assert.Null(e);
        Assert.Equal(("$p", Room, "m.room.member"), (rejected!.EventId, rejected.RoomId, rejected.Type));
    }

    [Fact]
    public void A_rejected_event_with_an_empty_event_id_has_no_id()
    {
        // Validate treats "" as missing; the rejection should say so too, or the partial unique index on
        // rejected_events.event_id (WHERE event_id IS NOT NULL) keeps only the first ""-id rejection ever stored.
        var (_, rejected) = _bodies.Event("""{"event_id":"","room_id":"!room:hs.test","type":"m.room.message","content":{}}""");

        Assert.Equal("missing or empty 'event_id'", rejected!.Reason);
        Assert.Null(rejected.EventId);
    }

    [Fact]
    public void Rejected_events_with_an_empty_event_id_are_hashed_by_their_raw_json()
    {
        // ContentHash is documented as "the ids (or raw JSON, for events without an id)"; "" is not an id.
        var first = _bodies.Events(Message("$a"), """{"event_id":"","room_id":"!room:hs.test","type":"x","content":{}}""");
        var other = _bodies.Events(Message("$a"), """{"event_id":"","room_id":"!room:hs.test","type":"y","content":{}}""");

        Assert.NotEqual(first.ContentHash, other.ContentHash);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("\"$e\"")]
    [InlineData("null")]
    [InlineData("[{\"event_id\":\"$e\"}]")]
    public void An_event_that_is_not_an_object_is_rejected(string item)
    {
        var tx = _bodies.Events(Message("$before"), item, Message("$after"));

        Assert.Equal(2, tx.Events.Count);
        var rejected = Assert.Single(tx.Rejected);
        Assert.Equal("event is not a JSON object", rejected.Reason);
        Assert.Equal((null, null, null), (rejected.EventId, rejected.RoomId, rejected.Type));
        Assert.Equal(item, rejected.RawJson);
    }

    [Theory]
    [InlineData("event_id")]
    [InlineData("room_id")]
    [InlineData("type")]
    public void Ids_and_type_longer_than_255_bytes_are_rejected(string key)
    {
        string Json(int length)
        {
            var values = new Dictionary<string, string> { ["event_id"] = "$e", ["room_id"] = "!r:hs.test", ["type"] = "m.room.message" };
            values[key] = new string('x', length);
            return $$$"""{"event_id":"{{{values["event_id"]}}}","room_id":"{{{values["room_id"]}}}","type":"{{{values["type"]}}}","content":{}}""";
        }

        var (_, rejected) = _bodies.Event(Json(256));

        Assert.Contains("255", rejected!.Reason, StringComparison.Ordinal);
        Assert.NotNull(_bodies.Event(Json(255)).Event);
    }

    [Fact]
    public void Limits_count_utf8_bytes_not_characters_and_apply_to_state_key()
    {
        // 128 two-byte characters: 128 characters, 256 bytes.
        string wide = new('é', 128);
        var (_, typeRejected) = _bodies.Event($$$"""{"event_id":"$e","room_id":"!r:hs.test","type":"{{{wide}}}","content":{}}""");
        var (_, keyRejected) = _bodies.Event($$$"""{"event_id":"$k","room_id":"!r:hs.test","type":"m.room.topic","state_key":"{{{wide}}}","content":{}}""");

        Assert.Contains("255 bytes", typeRejected!.Reason, StringComparison.Ordinal);
        Assert.Contains("'state_key' longer than 255 bytes", keyRejected!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_event_over_64_KiB_is_rejected()
    {
        string big = Message("$big", body: new string('x', 65536));

        var tx = _bodies.Events(Message("$small"), big);

        Assert.Equal("$small", Assert.Single(tx.Events).EventId);
        var rejected = Assert.Single(tx.Rejected);
        Assert.Equal("$big", rejected.EventId);
        Assert.Contains("over the 65536-byte limit", rejected.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_big_unsigned_does_not_count_towards_the_event_size()
    {
        string json = $$$"""
            {"event_id":"$invite","room_id":"!room:hs.test","type":"m.room.member","sender":"@a:hs.test","state_key":"@b:hs.test",
             "content":{"membership":"invite"},
             "unsigned":{"invite_room_state":[{"type":"m.room.topic","state_key":"","sender":"@a:hs.test","content":{"topic":"{{{new string('x', 100_000)}}}"}}]}}
            """;

        var tx = _bodies.Events(json);

        Assert.Empty(tx.Rejected);
        Assert.Equal("$invite", Assert.Single(tx.Events).EventId);
    }

    [Fact]
    public void The_size_limit_is_inclusive_and_counts_utf8_bytes_without_unsigned()
    {
        string unsigned = """{"age":1234567}""";
        string json = """{"event_id":"$e","room_id":"!room:hs.test","type":"m.room.message","content":{"body":"héllo ✓"},"unsigned":""" + unsigned + "}";
        int size = Encoding.UTF8.GetByteCount(json) - Encoding.UTF8.GetByteCount(unsigned);

        Assert.NotNull(_bodies.Event(json, maxEventBytes: size).Event);
        var (e, rejected) = _bodies.Event(json, maxEventBytes: size - 1);
        Assert.Null(e);
        Assert.Equal($"event is {size} bytes, over the {size - 1}-byte limit", rejected!.Reason);
    }

    [Fact]
    public void Redacts_is_read_from_the_top_level()
    {
        var e = _bodies.Accepted("""{"event_id":"$r","room_id":"!room:hs.test","type":"m.room.redaction","sender":"@a:hs.test","redacts":"$victim","content":{"reason":"spam"}}""");

        Assert.Equal("$victim", e.Redacts);
    }

    [Fact]
    public void Redacts_is_read_from_content_in_room_version_11()
    {
        var e = _bodies.Accepted("""{"event_id":"$r","room_id":"!room:hs.test","type":"m.room.redaction","sender":"@a:hs.test","content":{"redacts":"$victim"}}""");

        Assert.Equal("$victim", e.Redacts);
    }

    [Fact]
    public void Redacts_at_the_top_level_wins_over_content()
    {
        var e = _bodies.Accepted("""{"event_id":"$r","room_id":"!room:hs.test","type":"m.room.redaction","sender":"@a:hs.test","redacts":"$top","content":{"redacts":"$inner"}}""");

        Assert.Equal("$top", e.Redacts);
    }

    [Fact]
    public void A_redaction_without_redacts_is_accepted_with_no_target()
    {
        var e = _bodies.Accepted("""{"event_id":"$r","room_id":"!room:hs.test","type":"m.room.redaction","sender":"@a:hs.test","content":{}}""");

        Assert.Null(e.Redacts);
    }

    [Fact]
    public void Redacts_on_other_event_types_is_ignored()
    {
        var e = _bodies.Accepted("""{"event_id":"$m","room_id":"!room:hs.test","type":"m.room.message","sender":"@a:hs.test","redacts":"$x","content":{"redacts":"$y"}}""");

        Assert.Null(e.Redacts);
    }

    [Theory]
    [InlineData("""{"replaces_state":"$old"}""", "$old")]
    [InlineData("""{"age":1}""", null)]
    [InlineData("""{"replaces_state":5}""", null)]
    [InlineData("""{"replaces_state":null}""", null)]
    [InlineData("""[]""", null)]
    public void Replaces_state_is_read_from_unsigned(string unsigned, string? expected)
    {
        var e = _bodies.Accepted($$"""{"event_id":"$n","room_id":"!room:hs.test","type":"m.room.name","sender":"@a:hs.test","state_key":"","content":{"name":"x"},"unsigned":{{unsigned}}}""");

        Assert.Equal(expected, e.ReplacesState);
    }

    [Fact]
    public void Ephemeral_entries_sent_under_both_keys_are_counted_once()
    {
        const string Entries = """
            [{"type":"m.typing","room_id":"!room:hs.test","content":{"user_ids":["@a:hs.test"]}},
             {"type":"m.presence","sender":"@a:hs.test","content":{"presence":"online"}}]
            """;

        var tx = _bodies.Parse($$"""{"events":[],"ephemeral":{{Entries}},"de.sorunome.msc2409.ephemeral":{{Entries}}}""");

        Assert.Equal(2, tx.EphemeralCount);
    }

    [Theory]
    [InlineData("""{"events":[]}""", 0)]
    [InlineData("""{"events":[],"ephemeral":[{"type":"m.typing"},{"type":"m.receipt"}]}""", 2)]
    [InlineData("""{"events":[],"de.sorunome.msc2409.ephemeral":[{"type":"m.typing"}]}""", 1)]
    [InlineData("""{"events":[],"ephemeral":[{"type":"m.typing"}],"de.sorunome.msc2409.ephemeral":[{"type":"m.typing"},{"type":"m.receipt"}]}""", 2)]
    [InlineData("""{"events":[],"ephemeral":{"type":"m.typing"}}""", 0)]
    public void Ephemeral_entries_are_counted(string body, int expected) =>
        Assert.Equal(expected, _bodies.Parse(body).EphemeralCount);

    [Theory]
    [InlineData("""{"events":[]}""", 0)]
    [InlineData("""{"events":[],"de.sorunome.msc2409.to_device":[{"type":"m.room_key_request","to_user_id":"@a:hs.test","to_device_id":"D"},{"type":"m.dummy"},{"type":"m.dummy"}]}""", 3)]
    [InlineData("""{"events":[],"de.sorunome.msc2409.to_device":{}}""", 0)]
    public void To_device_messages_are_counted(string body, int expected) =>
        Assert.Equal(expected, _bodies.Parse(body).ToDeviceCount);

    [Theory]
    [InlineData("""{"events":[]}""", false)]
    [InlineData("""{"events":[],"org.matrix.msc3202.device_lists":{"changed":[],"left":[]}}""", true)]
    [InlineData("""{"events":[],"org.matrix.msc3202.device_one_time_key_counts":{}}""", true)]
    [InlineData("""{"events":[],"device_lists":{"changed":[],"left":[]}}""", false)]
    public void Device_data_is_noticed(string body, bool expected) =>
        Assert.Equal(expected, _bodies.Parse(body).HasDeviceData);

    [Fact]
    public void The_content_hash_is_the_same_for_the_same_event_ids_in_the_same_order()
    {
        // A retry may carry the same events redacted or with a new unsigned.age (facts 2.4): still the same transaction.
        var first = _bodies.Events(Message("$a", body: "one"), Message("$b"));
        var retry = _bodies.Events(Message("$a", body: "redacted"), Message("$b"));

        Assert.Equal(32, first.ContentHash.Length);
        Assert.Equal(first.ContentHash, retry.ContentHash);
    }

    [Fact]
    public void The_content_hash_differs_for_other_ids_another_order_or_more_events()
    {
        var hashes = new[]
        {
            _bodies.Events(Message("$a"), Message("$b")).ContentHash,
            _bodies.Events(Message("$b"), Message("$a")).ContentHash,
            _bodies.Events(Message("$a"), Message("$c")).ContentHash,
            _bodies.Events(Message("$a"), Message("$b"), Message("$c")).ContentHash,
            _bodies.Events(Message("$a")).ContentHash,
            _bodies.Events(Message("$a$b")).ContentHash,
        };

        Assert.Equal(hashes.Length, hashes.Select(Convert.ToHexString).Distinct().Count());
    }

    [Fact]
    public void The_content_hash_covers_rejected_events_by_id_or_else_by_raw_json()
    {
        const string PoisonP = """{"event_id":"$p","room_id":"!room:hs.test","type":"m.room.message","content":5}""";
        const string PoisonQ = """{"event_id":"$q","room_id":"!room:hs.test","type":"m.room.message","content":5}""";
        const string NoIdX = """{"room_id":"!room:hs.test","type":"x","content":{}}""";
        const string NoIdY = """{"room_id":"!room:hs.test","type":"y","content":{}}""";

        byte[] Hash(params string[] events) => _bodies.Events(events).ContentHash;

        Assert.NotEqual(Hash(Message("$a"), PoisonP), Hash(Message("$a")));
        Assert.NotEqual(Hash(Message("$a"), PoisonP), Hash(Message("$a"), PoisonQ));
        Assert.NotEqual(Hash(Message("$a"), NoIdX), Hash(Message("$a"), NoIdY));
        Assert.Equal(Hash(Message("$a"), NoIdX), Hash(Message("$a"), NoIdX));

        // A rejected event with an id counts like an accepted one with that id: the id names the event.
        Assert.Equal(Hash(Message("$a"), PoisonP), Hash(Message("$a"), Message("$p")));
    }
}
