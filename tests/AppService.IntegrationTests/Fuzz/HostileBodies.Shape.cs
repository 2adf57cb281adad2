using System.Globalization;
using System.Text;

namespace AppService.IntegrationTests.Fuzz;

/// <summary>Shapes: nesting at and past every depth limit, duplicate keys and events, events that are not objects, unknown top-level keys.</summary>
public sealed partial class HostileBodies
{
    public static readonly int[] Depths = [60, 61, 63, 64, 65, 100, 500, 1000, 1100, 2000, 3000];

    private static readonly string[] DeepPlaces = ["content", "top-level", "unsigned", "entry"];

    private static string Nested(int depth, Random rng)
    {
        var sb = new StringBuilder(depth * 6);
        var closers = new Stack<char>();
        for (int i = 0; i < depth; i++)
        {
            if (rng.Next(2) == 0)
            {
                sb.Append('[');
                closers.Push(']');
            }
            else
            {
                sb.Append("{\"a\":");
                closers.Push('}');
            }
        }

        sb.Append('1');
        while (closers.Count > 0)
        {
            sb.Append(closers.Pop());
        }

        return sb.ToString();
    }

    public static HostileBody Deep(int depth, string where, Random rng)
    {
        var events = Template();
        int index = rng.Next(events.Count);
        string nested = Nested(depth, rng);
        var outcomes = new Dictionary<int, Outcome>();
        RawNode body = Body(events);
        switch (where)
        {
            case "content":
                ((RawObject)events[index].Find("content")!.Value).Add("deep", new RawText(nested));
                // Issue 8: content nested deeper than 1024 levels rejects that event; 1000 (the content object and
                // its key add one) is applied. Nothing is generated close to the boundary.
                outcomes[index] = depth <= 1000 ? Outcome.Applied : Outcome.Rejected;
                break;
            case "unsigned":
                ((RawObject)events[index].Find("unsigned")!.Value).Add("deep", new RawText(nested));
                outcomes[index] = Outcome.Either;
                break;
            case "entry":
                ((RawArray)((RawObject)body).Find("events")!.Value).Items.Insert(index, new RawText(nested));
                break;
            default:
                ((RawObject)body).Add("com.example.deep", new RawText(nested));
                break;
        }

        return Finish($"deep {depth} in {where}", body, events, outcomes);
    }

    public static HostileBody Duplicate(Random rng)
    {
        var events = Template();
        if (rng.Next(5) == 0)
        {
            // A second top-level "events": which one counts is open (RFC 8259), so no event is checked.
            var body = Body(events);
            var other = new RawText(WrongValues[rng.Next(WrongValues.Length)]);
            if (rng.Next(2) == 0)
            {
                body.Members.Insert(0, new RawMember(RawNode.Quote("events"), other));
            }
            else
            {
                body.Members.Add(new RawMember(RawNode.Quote("events"), other));
            }

            return new HostileBody { Kind = "duplicate top-level events", Bytes = RawNode.Encode(body.ToJsonText()) };
        }

        var slots = Slots(events);
        var slot = slots[rng.Next(slots.Count)];
        var e = events[slot.EventIndex];
        string originalId = IdOf(e);
        var owner = slot.Path.Length == 1 ? e : Owner(e, slot.Path);
        RawNode copy = rng.Next(2) == 0 ? slot.Member.Value.Clone() : new RawText(WrongValues[rng.Next(WrongValues.Length)]);
        owner.Members.Insert(rng.Next(owner.Members.Count + 1), new RawMember(slot.Member.Key, copy));
        var result = Finish($"duplicate {slot.EventType} {string.Join('.', slot.Path)}", Body(events), events, new() { [slot.EventIndex] = Outcome.Either });
        if (slot.Path is ["event_id"])
        {
            // Which of two ids is the event's is open too: neither is checked.
            result.Events.RemoveAll(x => x.EventId == originalId);
        }

        return result;

        static RawObject Owner(RawObject e, string[] path)
        {
            var current = e;
            foreach (string name in path[..^1])
            {
                current = (RawObject)current.Members.Last(m => m.Key == RawNode.Quote(name)).Value;
            }

            return current;
        }
    }

    public static HostileBody NonObjectEvent(Random rng)
    {
        var events = Template();
        string[] entries = ["null", "0", "-1e999999", "\"$fake\"", "[]", "[{\"event_id\":\"$inner\"}]", "true", "{}", "\"\\u0000\""];
        var body = Body(events);
        var array = (RawArray)body.Find("events")!.Value;
        int count = 1 + rng.Next(3);
        var outcomes = new Dictionary<int, Outcome>();
        if (rng.Next(2) == 0)
        {
            int index = rng.Next(events.Count);
            string id = IdOf(events[index]);
            array.Items[index] = new RawText(entries[rng.Next(entries.Length)]);
            var replaced = Finish("non-object event (replaced)", body, events, []);
            replaced.Events.RemoveAll(x => x.EventId == id);
            return replaced;
        }

        for (int i = 0; i < count; i++)
        {
            array.Items.Insert(rng.Next(array.Items.Count + 1), new RawText(entries[rng.Next(entries.Length)]));
        }

        return Finish("non-object events (added)", body, events, outcomes);
    }

    public static HostileBody ExtraTopLevel(Random rng)
    {
        var events = Template();
        var body = Body(events);
        (string Key, string Value)[] extras =
        [
            ("ephemeral", "\"a string\""), ("ephemeral", "5"), ("ephemeral", "[null, 1, \"x\", [], {\"type\":5}]"),
            ("de.sorunome.msc2409.ephemeral", "{}"), ("de.sorunome.msc2409.to_device", "{\"a\":1}"),
            ("de.sorunome.msc2409.to_device", "[1, null, {\"content\": 1e999999}]"), ("org.matrix.msc3202.device_lists", "[]"),
            ("org.matrix.msc3202.device_one_time_keys_count", "\"\\u0000\""), ("org.matrix.msc3202.device_unused_fallback_key_types", "null"),
            ("", "null"), ("events\\u0000", "1"), ("\\ud800", "\"\\udc00\""), ("com.example", "{\"\\u0000\": -1e-999999}"),
        ];
        int count = 1 + rng.Next(4);
        var labels = new List<string>();
        for (int i = 0; i < count; i++)
        {
            var (key, value) = extras[rng.Next(extras.Length)];
            var member = new RawMember("\"" + key + "\"", new RawText(value));
            body.Members.Insert(rng.Next(2) == 0 ? 0 : body.Members.Count, member);
            labels.Add(key);
        }

        return Finish($"extra top-level {string.Join(',', labels)}", body, events, []);
    }
}
