using System.Runtime.InteropServices;
using System.Text.Json;
using AppService.Matrix;

namespace AppService.Tests.Matrix;

/// <summary>
/// The reader finds an event's top-level properties in one pass (<see cref="EventTopLevel"/>, issue 19) and must find
/// the same ones the lookups by name found: the last of duplicate names, escaped names as their unescaped selves, and
/// names with invalid escapes ignored without throwing.
/// </summary>
public sealed class EventTopLevelTests : IDisposable
{
    private readonly Bodies _bodies = new();

    public void Dispose() => _bodies.Dispose();

    private const string Ids = """ "room_id":"!room:hs.test","type":"m.room.message","sender":"@a:hs.test" """;

    [Fact]
    public void Of_two_event_ids_the_last_is_the_event_id()
    {
        var e = _bodies.Accepted($$$"""{"event_id":"$first",{{{Ids}}},"content":{},"event_id":"$last"}""");

        Assert.Equal("$last", e.EventId);
    }

    [Fact]
    public void Of_two_contents_the_last_is_the_content_and_decides_the_verdict()
    {
        var e = _bodies.Accepted($$$"""{"event_id":"$e",{{{Ids}}},"content":[],"content":{"body":"last"}}""");
        var (_, rejected) = _bodies.Event($$$"""{"event_id":"$e",{{{Ids}}},"content":{"body":"first"},"content":[]}""");

        Assert.Equal("last", e.Content.GetProperty("body").GetString());
        Assert.Equal(RejectionCodes.WrongType, rejected?.Code);
    }

    [Fact]
    public void An_escaped_name_is_read_as_the_name_it_spells()
    {
        var e = _bodies.Accepted($$$"""{"\u0065vent_id":"$escaped",{{{Ids}}},"c\u006Fntent":{"body":"b"}}""");

        Assert.Equal("$escaped", e.EventId);
        Assert.Equal("b", e.Content.GetProperty("body").GetString());
    }

    [Theory]
    [InlineData("""\ud800""")]
    [InlineData("""\udc00 a longer name""")]
    [InlineData("""\u0000""")]
    [InlineData("""event_id\u0000""")]
    public void A_top_level_name_with_a_lone_surrogate_or_nul_is_ignored_and_the_next_event_applied(string name)
    {
        string odd = $$$"""{"event_id":"$odd",{{{Ids}}},"content":{},"{{{name}}}":1}""";

        var parsed = _bodies.Events(odd, Bodies.Message("$next"));

        Assert.Empty(parsed.Rejected);
        Assert.Equal(["$odd", "$next"], parsed.Events.Select(e => e.EventId));
    }

    /// <summary>
    /// Where a name with a lone surrogate stands after an escaped one, a lookup by name threw and fell back to comparing
    /// raw names, so the escaped name was not found; the one pass keeps that answer.
    /// </summary>
    [Fact]
    public void An_escaped_event_id_before_a_name_with_a_lone_surrogate_is_still_not_found()
    {
        var (_, before) = _bodies.Event($$$"""{"\u0065vent_id":"$e",{{{Ids}}},"content":{},"\ud800 longer than event_id":1}""");
        var after = _bodies.Accepted($$$"""{"\ud800 longer than event_id":1,"\u0065vent_id":"$e",{{{Ids}}},"content":{}}""");

        Assert.Equal(RejectionCodes.MissingField, before?.Code);
        Assert.Equal("$e", after.EventId);
    }

    private static readonly string[] Names =
    [
        "event_id", "room_id", "type", "sender", "state_key", "content", "unsigned", "origin_server_ts", "redacts",
        @"\u0065vent_id", @"t\u0079pe", @"\u0063ontent", @"state\u005Fkey", @"origin_ser\u0076er_ts", @"\/type",
        @"\ud800", @"\udc00", @"\ud800 longer than origin_server_ts", @"type\ud800", @"origin_ser\ud800", @"ty\ud800",
        @"event_id\u0000", @"\u0000", @"\ud83d\ude00", @"\ud800\u0041bcdefgh", "other",
    ];

    private static readonly string[] Looked = ["event_id", "room_id", "type", "sender", "state_key", "content", "unsigned", "origin_server_ts", "redacts"];

    /// <summary>Random objects of those names: for every name we read, the one pass and a lookup by name agree.</summary>
    [Fact]
    public void The_one_pass_finds_what_a_lookup_by_name_finds()
    {
        var random = new Random(19);
        for (int i = 0; i < 5000; i++)
        {
            var properties = Enumerable.Range(0, random.Next(0, 8)).Select(j => $"\"{Names[random.Next(Names.Length)]}\":{j}");
            string json = "{" + string.Join(",", properties) + "}";
            var element = _bodies.Document(json).RootElement;

            var top = EventTopLevel.Read(element);
            JsonElement[] found = [top.EventId, top.RoomId, top.Type, top.Sender, top.StateKey, top.Content, top.Unsigned, top.OriginServerTs, top.Redacts];

            for (int k = 0; k < Looked.Length; k++)
            {
                string? expected = MatrixText.TryGetProperty(element, Looked[k], out var value) ? Raw(value) : null;
                string? actual = found[k].ValueKind == JsonValueKind.Undefined ? null : Raw(found[k]);
                Assert.True(expected == actual, $"{Looked[k]} in {json}: lookup {expected ?? "absent"}, one pass {actual ?? "absent"}");
            }
        }

        static string Raw(JsonElement value) => System.Text.Encoding.UTF8.GetString(JsonMarshal.GetRawUtf8Value(value));
    }
}
