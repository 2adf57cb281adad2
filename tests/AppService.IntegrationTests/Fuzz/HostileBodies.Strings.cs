using System.Globalization;
using System.Text;

namespace AppService.IntegrationTests.Fuzz;

/// <summary>Strings PostgreSQL or .NET cannot hold: U+0000 and lone surrogates in every string and key, bytes that are not UTF-8, ids over every length limit.</summary>
public sealed partial class HostileBodies
{
    /// <summary>What poisons a string in PostgreSQL or .NET: U+0000 and lone surrogates, as JSON escapes.</summary>
    public static readonly string[] PoisonEscapes = ["\\u0000", "\\ud800", "\\udc00", "\\uDFFF", "\\udc00\\ud800"];

    /// <summary>Byte sequences that are not UTF-8 (the first: a surrogate encoded as UTF-8, as CESU-8 would).</summary>
    public static readonly byte[][] InvalidUtf8 =
    [
        [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xFF], [0xFE], [0x80], [0xC0, 0x80], [0xC1, 0xBF], [0xE2, 0x82],
        [0xF0, 0x9F, 0x98], [0xF5, 0x80, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE0, 0x80, 0x80],
    ];

    public static readonly int[] OverlongSizes = [300, 3 * 1024, 70 * 1024];

    private static readonly string[] OverlongFields = ["event_id", "room_id", "type", "state_key", "sender"];

    public static HostileBody PoisonString(int slotIndex, string escape, bool key, int where)
    {
        var events = Template();
        var slot = Slots(events)[slotIndex];
        Outcome outcome;
        if (key || slot.Member.Value is not RawText { IsString: true } text)
        {
            slot.Member.Key = InsertInto(slot.Member.Key, escape, where);
            outcome = PoisonedKey(slot);
            key = true;
        }
        else
        {
            text.Json = InsertInto(text.Json, escape, where);
            outcome = PoisonedValue(slot);
        }

        return Finish($"poison {escape} in {(key ? "key" : "value")} {slot.EventType} {string.Join('.', slot.Path)} @{where}", Body(events), events,
            new() { [slot.EventIndex] = outcome });
    }

    public static HostileBody InvalidBytes(byte[] bytes, Random rng)
    {
        var events = Template();
        var strings = Slots(events).Where(s => s.Member.Value is RawText { IsString: true }).ToList();
        var slot = strings[rng.Next(strings.Count)];
        var text = (RawText)slot.Member.Value;
        text.Json = InsertInto(text.Json, RawNode.RawBytes(bytes), rng.Next(3));
        // Not UTF-8: the whole body is refused, so nothing of it may be applied.
        return Finish($"invalid-utf8 {Convert.ToHexString(bytes)} in {slot.EventType} {string.Join('.', slot.Path)}", Body(events), events,
            Enumerable.Range(0, events.Count).ToDictionary(i => i, _ => Outcome.Absent));
    }

    public static HostileBody Overlong(string field, int size, int eventIndex)
    {
        var events = Template();
        var e = events[eventIndex % events.Count];
        if (e.Find(field) is null)
        {
            e = events[1]; // a member event has every field
        }

        int index = events.IndexOf(e);
        string prefix = field switch { "event_id" => "$", "room_id" => "!", "sender" or "state_key" => "@", _ => "m." };
        // Random base64 after a unique prefix: PostgreSQL's pglz cannot compress it, so index rows really are that long.
        string value = (prefix + FreshId("long") + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(size)))[..size];
        e.Find(field)!.Value = RawNode.Str(value);
        var body = Finish($"overlong {field} {size} B", Body(events), events,
            new() { [index] = field == "sender" && size < 65_000 ? Outcome.Either : Outcome.Rejected });
        if (field == "event_id")
        {
            // Over the spec's 255 bytes: rejected (stored by hash, if at all), never applied.
            body.Events.RemoveAll(x => x.EventId == value);
            body.Events.Add(new ExpectedEvent(value, Outcome.Absent));
        }

        return body;
    }
}
