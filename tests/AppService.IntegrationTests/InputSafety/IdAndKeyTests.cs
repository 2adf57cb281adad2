using System.Text;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.InputSafety;

/// <summary>U+0000 and lone surrogates in ids and keys, and ids over every length limit: that event is rejected, its neighbours applied.</summary>
public sealed class IdAndKeyTests(KestrelApplication app) : HostileInput(app), IClassFixture<KestrelApplication>
{
    public static TheoryData<string, string> PoisonedIds()
    {
        var data = new TheoryData<string, string>();
        foreach (string field in new[] { "event_id", "room_id", "type", "state_key", "sender", "membership", "redacts", "replaces_state" })
        {
            foreach (string escape in new[] { "\\u0000", "\\ud800", "\\udc00" })
            {
                data.Add(field, escape);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PoisonedIds))]
    public async Task An_id_or_key_with_NUL_or_a_lone_surrogate_rejects_its_event_and_the_neighbour_is_applied(string field, string escape)
    {
        string room = NewRoomId(), txn = NewTxn(), id = NewEventId();
        var neighbour = Neighbour(room);
        string P(string value, string name) => name == field ? value[..2] + escape + value[2..] : value;
        string bad = field == "redacts"
            ? RawEvents.Event(P(id, "event_id"), room, "m.room.redaction", null, "{\"redacts\":\"" + P(neighbour.Id, "redacts") + "\"}")
                .Replace("\"content\"", "\"redacts\":\"" + P(neighbour.Id, "redacts") + "\",\"content\"", StringComparison.Ordinal)
            : RawEvents.Event(P(id, "event_id"), P(room, "room_id"), P("m.room.member", "type"), P("@eve:test", "state_key"),
                "{\"membership\":\"" + P("join", "membership") + "\",\"displayname\":\"Eve\"}", P("@eve:test", "sender"),
                "{\"replaces_state\":\"" + P(NewEventId(), "replaces_state") + "\"}");

        await PutOkAsync(txn, RawEvents.Body(neighbour.Json, bad));

        await AssertAppliedAsync(neighbour.Id);
        Assert.Equal("Good", await DisplaynameAsync(room, "@neighbour:test"));
        Assert.Equal(1, await RejectedInTxnAsync(txn));
        if (field != "event_id")
        {
            await AssertRejectedAsync(id);
        }

        Assert.False(await ProcessedAsync(id));
        Assert.Null(await DisplaynameAsync(room, "@eve:test"));
    }

    [Theory]
    [InlineData("event_id")]
    [InlineData("room_id")]
    [InlineData("type")]
    [InlineData("state_key")]
    [InlineData("sender")]
    public async Task Nul_or_a_lone_surrogate_in_an_envelope_id_rejects_that_event_as_invalid_string_and_applies_the_others(string field)
    {
        foreach (string marker in new[] { Nul, Lone })
        {
            string room = NewRoomId();
            var bad = Member(room, Carol, "join");
            bad[field] = bad[field]!.GetValue<string>() + marker;
            var good = Member(room, Bob, "join");
            string txn = NewTxn();

            await PutOkAsync(txn, BodyOf(bad, good));

            Assert.Equal("join", (await App.MemberAsync(room, Bob))!.Membership);
            Assert.Null(await App.MemberAsync(room, Carol));
            var rejected = (await App.RejectedEventsAsync("reason=invalid_string&limit=1000")).Where(r => r.TxnId == txn).ToList();
            var row = Assert.Single(rejected);
            Assert.Contains(field, row.Reason, StringComparison.Ordinal);
            Assert.Contains(marker == Nul ? "\\u0000" : "\\ud800", row.Content!, StringComparison.Ordinal);
            Assert.Equal(Encoding.UTF8.GetByteCount(row.Content!), row.ContentBytes);
        }
    }

    [Fact]
    public async Task A_nul_event_id_is_stored_escaped_in_the_rejected_row()
    {
        string room = NewRoomId();
        var bad = Message(room, Alice, "x");
        bad["event_id"] = $"$nul{Nul}id";
        string txn = NewTxn();

        await PutOkAsync(txn, BodyOf(bad, Message(room, Alice, "ok")));

        var row = Assert.Single(await App.RejectedEventsAsync($"room_id={Uri.EscapeDataString(room)}"), r => r.TxnId == txn);
        Assert.Equal("$nul\\u0000id", row.EventId);
    }

    [Fact]
    public async Task A_lone_surrogate_in_redacts_rejects_that_event_and_one_in_a_key_name_nothing_reads_does_not()
    {
        string room = NewRoomId();
        var redaction = new System.Text.Json.Nodes.JsonObject
        {
            ["event_id"] = NewEventId(), ["room_id"] = room, ["type"] = "m.room.redaction", ["sender"] = Alice,
            ["redacts"] = $"$x{Lone}", ["content"] = new System.Text.Json.Nodes.JsonObject(),
        };
        var badKey = Message(room, Alice, "x");
        badKey[$"k{Lone}"] = 1;
        var good = Member(room, Bob, "join");
        string txn = NewTxn();

        await PutOkAsync(txn, BodyOf(redaction, badKey, good));

        Assert.Equal("join", (await App.MemberAsync(room, Bob))!.Membership);
        var rows = (await App.RejectedEventsAsync($"room_id={Uri.EscapeDataString(room)}")).Where(r => r.TxnId == txn).ToList();
        Assert.Equal("invalid_string", Assert.Single(rows).ReasonCode); // the redaction; a key name nothing reads rejects nothing (issue 16 point 4)
        Assert.True(await App.IsProcessedAsync(badKey.Id()));
    }

    [Fact]
    public async Task A_lone_surrogate_in_a_key_name_inside_an_event_is_answered_200_and_the_event_applied_or_rejected()
    {
        string room = NewRoomId(), txn = NewTxn(), id = NewEventId();
        var neighbour = Neighbour(room);
        string bad = RawEvents.Event(id, room, "m.room.message", null, "{\"body\":\"x\",\"\\udc00\":\"\\ud800\"}")
            .Replace("\"content\"", "\"\\ud800unknown\":true,\"content\"", StringComparison.Ordinal);
        await PutOkAsync(txn, RawEvents.Body(bad, neighbour.Json));
        await AssertAppliedAsync(neighbour.Id);
        Assert.NotEqual(await ProcessedAsync(id), await RejectedAsync(id));
    }

    [Fact]
    public async Task A_lone_surrogate_in_an_unknown_top_level_key_name_changes_nothing()
    {
        string room = NewRoomId(), txn = NewTxn(), id = NewEventId();
        await PutOkAsync(txn, "{\"\\ud800top\":1,\"\\udc00\":\"\\u0000\",\"events\":[" + RawEvents.Event(id, room, "m.room.message", null, "{\"body\":\"x\"}") + "]}");
        await AssertAppliedAsync(id);
    }

    [Fact]
    public async Task Top_level_keys_other_than_events_of_any_shape_never_fail_the_body()
    {
        string room = NewRoomId();
        string json = BodyOf(Member(room, Bob, "join"));
        json = json[..^1] + ""","ephemeral":5,"de.sorunome.msc2409.ephemeral":[1,"x",{"\ud800":null}],"de.sorunome.msc2409.to_device":"no","org.matrix.msc3202.device_lists":[],"\ud800\u0000":{}}""";

        await PutOkAsync(NewTxn(), json);

        Assert.Equal("join", (await App.MemberAsync(room, Bob))!.Membership);
    }

    [Fact]
    public async Task A_3_KB_event_id_is_rejected_and_stored_by_its_hash()
    {
        string room = NewRoomId();
        var bad = Message(room, Alice, "x");
        // Random, so that PostgreSQL cannot compress the index entry under its ~2.7 KB limit (a run of 'a' would fit).
        bad["event_id"] = "$" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(1500));
        string txn = NewTxn();

        await PutOkAsync(txn, BodyOf(bad, Message(room, Alice, "ok")));

        var row = Assert.Single(await App.RejectedEventsAsync($"room_id={Uri.EscapeDataString(room)}"), r => r.TxnId == txn);
        Assert.Equal("too_large", row.ReasonCode);
        Assert.StartsWith("sha256:", row.EventId, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(300)]
    [InlineData(3 * 1024)]
    [InlineData(70 * 1024)]
    public async Task An_overlong_event_id_is_rejected_and_stored_without_breaking_the_index(int bytes)
    {
        string room = NewRoomId(), txn = NewTxn();
        // Random base64: PostgreSQL's pglz cannot compress it, so the index row really is that long.
        string id = ("$" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(bytes)))[..bytes];
        var neighbour = Neighbour(room);
        await PutOkAsync(txn, RawEvents.Body(RawEvents.Event(id, room, "m.room.message", null, "{\"body\":\"long id\"}"), neighbour.Json));

        await AssertAppliedAsync(neighbour.Id);
        Assert.False(await ProcessedAsync(id));
        Assert.Equal(1, await RejectedInTxnAsync(txn));

        // Sent again (as a homeserver retry would): acknowledged, still one rejection.
        await PutOkAsync(txn, RawEvents.Body(RawEvents.Event(id, room, "m.room.message", null, "{\"body\":\"long id\"}"), neighbour.Json));
        Assert.Equal(1, await RejectedInTxnAsync(txn));
    }
}
