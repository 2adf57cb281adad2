using System.Globalization;
using System.Text;

namespace AppService.IntegrationTests.Fuzz;

/// <summary>What must have become of one event of a body, if the body was acknowledged.</summary>
public enum Outcome
{
    /// <summary>In processed_events, not in rejected_events.</summary>
    Applied,

    /// <summary>In rejected_events, not in processed_events.</summary>
    Rejected,

    /// <summary>In exactly one of the two (the contract does not say which, e.g. a string where a number was).</summary>
    Either,

    /// <summary>Not in processed_events (the id was destroyed or is not storable, or the body was refused).</summary>
    Absent,
}

public sealed record ExpectedEvent(string EventId, Outcome Outcome)
{
    /// <summary>The body's family, for the counts of violations.</summary>
    public string Kind { get; init; } = "";
}

/// <summary>One generated body: its exact bytes and what must have happened to its events if it was answered 200.</summary>
public sealed class HostileBody
{
    public required string Kind { get; init; }

    public required byte[] Bytes { get; init; }

    public List<ExpectedEvent> Events { get; init; } = [];

    public override string ToString()
    {
        string text = Encoding.UTF8.GetString(Bytes.AsSpan(0, Math.Min(Bytes.Length, 300)));
        return $"{Kind} ({Bytes.Length} B) {text}{(Bytes.Length > 300 ? "…" : "")}";
    }
}

/// <summary>A generated case: the family of hostile body and the seed that builds it (FsCheck draws both).</summary>
public sealed record FuzzCase(string Kind, int Seed)
{
    public override string ToString() => $"{Kind}#{Seed}";
}

/// <summary>
/// Builds hostile transaction bodies. The base is a valid 10-event transaction of a fresh room (create, two members,
/// name, topic, join rules, message, alias, redaction, history visibility); a mutation then breaks one thing in it
/// and records what the contract says must happen to each event. Event ids are fresh for every body.
/// </summary>
public sealed class HostileBodies(long maxTransactionBytes)
{
    public const string Alice = "@alice:test";
    public const string Bob = "@bob:test";

    /// <summary>Values of every JSON type, including numbers outside every machine range.</summary>
    public static readonly string[] WrongValues =
    [
        "null", "true", "false", "0", "-1", "1.5", "1e999999", "-1e-999999", "123456789012345678901234567890", "-0",
        "\"\"", "\"x\"", "[]", "[1,\"a\",null]", "{}", "{\"a\":{\"b\":null}}",
    ];

    /// <summary>The short list tried on every field, in <see cref="FixedCorpus"/>.</summary>
    public static readonly string[] CoreWrongValues = ["null", "true", "0", "1e999999", "\"\"", "[]", "{}"];

    /// <summary>What poisons a string in PostgreSQL or .NET: U+0000 and lone surrogates, as JSON escapes.</summary>
    public static readonly string[] PoisonEscapes = ["\\u0000", "\\ud800", "\\udc00", "\\uDFFF", "\\udc00\\ud800"];

    /// <summary>Byte sequences that are not UTF-8 (the first: a surrogate encoded as UTF-8, as CESU-8 would).</summary>
    public static readonly byte[][] InvalidUtf8 =
    [
        [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xFF], [0xFE], [0x80], [0xC0, 0x80], [0xC1, 0xBF], [0xE2, 0x82],
        [0xF0, 0x9F, 0x98], [0xF5, 0x80, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE0, 0x80, 0x80],
    ];

    public static readonly int[] Depths = [60, 61, 63, 64, 65, 100, 500, 1000, 1100, 2000, 3000];

    public static readonly int[] OverlongSizes = [300, 3 * 1024, 70 * 1024];

    /// <summary>The families FsCheck draws from, with weights.</summary>
    public static readonly (int Weight, string Kind)[] Kinds =
    [
        (25, "wrong-type"), (5, "missing-field"), (12, "nul"), (12, "surrogate"), (4, "raw-surrogate"), (6, "invalid-utf8"),
        (5, "number"), (4, "deep"), (5, "duplicate"), (4, "overlong"), (4, "non-object-event"), (4, "extra-top-level"),
        (5, "random-json"), (1, "limit"), (3, "valid"),
    ];

    private static readonly string[] DeepPlaces = ["content", "top-level", "unsigned", "entry"];
    private static readonly string[] OverlongFields = ["event_id", "room_id", "type", "state_key", "sender"];
    private static readonly string[] HugeNumbers = ["1e999999", "-1e-999999", "123456789012345678901234567890", "1E+400", "-0.0000000000000000000000000001e-99999"];
    private static readonly string[] RandomNumbers = ["0", "-0", "1e999999", "-1e-999999", "123456789012345678901234567890", "3.14", "-7"];
    private static readonly string[] RandomIds = ["$e:test", "!r:test", "m.room.member", "@u:test", ""];
    private static readonly string[] RandomKeys = ["events", "event_id", "room_id", "type", "content", "state_key", "sender"];
    private static readonly string[] TopLevelIds = ["room_id", "type", "state_key", "sender", "redacts"];
    private static readonly string[] DisplayValues = ["displayname", "avatar_url", "name", "topic"];
    private static readonly string[] ProjectedFields =
        ["membership", "displayname", "avatar_url", "name", "topic", "join_rule", "alias", "history_visibility", "room_version", "creator", "redacts"];

    private static long _counter;
    private static long _ts = 1_796_000_000_000;

    public long MaxTransactionBytes { get; } = maxTransactionBytes;

    public static string FreshId(string prefix) =>
        prefix + Interlocked.Increment(ref _counter).ToString(CultureInfo.InvariantCulture) + "_" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>A valid transaction of 10 events in a fresh room.</summary>
    public static List<RawObject> Template()
    {
        string room = FreshId("!fz") + ":test";
        var events = new List<RawObject>();
        RawObject Event(string type, string? stateKey, RawObject content, string sender = Alice)
        {
            var e = new RawObject()
                .Add("event_id", RawNode.Str(FreshId("$fz")))
                .Add("room_id", RawNode.Str(room))
                .Add("type", RawNode.Str(type))
                .Add("sender", RawNode.Str(sender));
            if (stateKey is not null)
            {
                e.Add("state_key", RawNode.Str(stateKey));
            }

            e.Add("origin_server_ts", RawNode.Num(Interlocked.Increment(ref _ts)));
            e.Add("content", content);
            e.Add("unsigned", new RawObject().Add("age", RawNode.Num(12)));
            e.OriginalId = Unquote(((RawText)e.Find("event_id")!.Value).Json);
            events.Add(e);
            return e;
        }

        Event("m.room.create", "", new RawObject().Add("room_version", RawNode.Str("10")).Add("creator", RawNode.Str(Alice)));
        Event("m.room.member", Alice, new RawObject().Add("membership", RawNode.Str("join")).Add("displayname", RawNode.Str("Alice"))
            .Add("avatar_url", RawNode.Str("mxc://test/alice")));
        Event("m.room.name", "", new RawObject().Add("name", RawNode.Str("Fuzz room")));
        Event("m.room.topic", "", new RawObject().Add("topic", RawNode.Str("Topic ✓")));
        Event("m.room.join_rules", "", new RawObject().Add("join_rule", RawNode.Str("public")));
        var bob = Event("m.room.member", Bob, new RawObject().Add("membership", RawNode.Str("join")).Add("displayname", RawNode.Str("Bob")), Bob);
        ((RawObject)bob.Find("unsigned")!.Value).Add("replaces_state", RawNode.Str(FreshId("$prev")));
        var message = Event("m.room.message", null, new RawObject().Add("msgtype", RawNode.Str("m.text")).Add("body", RawNode.Str("hello")));
        Event("m.room.canonical_alias", "", new RawObject().Add("alias", RawNode.Str("#fuzz:test")));
        string target = ((RawText)message.Find("event_id")!.Value).Json;
        var redaction = Event("m.room.redaction", null, new RawObject().Add("redacts", new RawText(target)));
        redaction.Members.Insert(4, new RawMember(RawNode.Quote("redacts"), new RawText(target)));
        Event("m.room.history_visibility", "", new RawObject().Add("history_visibility", RawNode.Str("shared")));
        return events;
    }

    private static string IdOf(RawObject e) => Unquote(((RawText)e.Find("event_id")!.Value).Json);

    private static string TypeOf(RawObject e) => Unquote(((RawText)e.Find("type")!.Value).Json);

    private static string Unquote(string literal) => literal[1..^1];

    /// <summary>One place in an event where a mutation can strike: a member (its key or its value), with its path.</summary>
    public sealed record Slot(int EventIndex, string[] Path, RawMember Member, string EventType);

    public static List<Slot> Slots(List<RawObject> events)
    {
        var slots = new List<Slot>();
        for (int i = 0; i < events.Count; i++)
        {
            Collect(i, TypeOf(events[i]), events[i], [], slots);
        }

        return slots;

        static void Collect(int index, string type, RawObject obj, string[] prefix, List<Slot> slots)
        {
            foreach (var member in obj.Members)
            {
                string[] path = [.. prefix, Unquote(member.Key)];
                slots.Add(new Slot(index, path, member, type));
                if (member.Value is RawObject child)
                {
                    Collect(index, type, child, path, slots);
                }
            }
        }
    }

    /// <summary>The contract for a string value that holds U+0000 or a lone surrogate.</summary>
    public static Outcome PoisonedValue(Slot slot) => slot.Path switch
    {
        ["event_id"] => Outcome.Absent,
        [var top] when TopLevelIds.Contains(top) => Outcome.Rejected,
        ["content", "membership"] => Outcome.Rejected,
        ["content", "redacts"] when slot.EventType == "m.room.redaction" => Outcome.Rejected,
        ["content", var field] when DisplayValues.Contains(field) => Outcome.Applied,
        ["unsigned", "replaces_state"] => Outcome.Rejected,
        _ => Outcome.Either,
    };

    /// <summary>
    /// The contract for a key name holding U+0000 or a lone surrogate (issue 16 point 4): such a name is never one the
    /// service reads, so it is as if the key were absent. Only a required field going missing rejects the event; a
    /// poisoned name anywhere else (content, unsigned, an optional top-level key) never does: the event is applied.
    /// </summary>
    public static Outcome PoisonedKey(Slot slot) => slot.Path switch
    {
        ["event_id"] => Outcome.Absent,
        ["room_id"] or ["type"] or ["content"] => Outcome.Rejected,
        ["content", "membership"] when slot.EventType == "m.room.member" => Outcome.Rejected,
        _ => Outcome.Applied,
    };

    /// <summary>The contract for a key renamed (poisoned, or removed): a required field is then missing.</summary>
    public static Outcome MissingKey(Slot slot) => slot.Path switch
    {
        ["event_id"] => Outcome.Absent,
        ["room_id"] or ["type"] or ["content"] => Outcome.Rejected,
        ["content", "membership"] when slot.EventType == "m.room.member" => Outcome.Rejected,
        _ => Outcome.Either,
    };

    /// <summary>The contract for a value replaced by another JSON value.</summary>
    public static Outcome Replaced(Slot slot, string value)
    {
        bool isString = value.StartsWith('"');
        bool isNull = value == "null";
        return slot.Path switch
        {
            ["event_id"] => Outcome.Absent,
            ["room_id"] or ["type"] => !isString || value == "\"\"" ? Outcome.Rejected : Outcome.Either,
            ["sender"] or ["state_key"] => !isString && !isNull ? Outcome.Rejected : Outcome.Either,
            ["content"] => value.StartsWith('{') ? Outcome.Either : Outcome.Rejected,
            ["content", "membership"] => Outcome.Rejected,
            ["content", "redacts"] when slot.EventType == "m.room.redaction" => !isString && !isNull ? Outcome.Rejected : Outcome.Either,
            // The create's version and creator decide the room's rules and power: read, so a wrong type rejects.
            ["content", "room_version" or "creator"] when slot.EventType == "m.room.create" => !isString && !isNull ? Outcome.Rejected : Outcome.Either,
            // Display values (issue 16 point 4): a value that is not a string is projected as null; the event counts.
            ["content", var field] when ProjectedFields.Contains(field) && field != "redacts" => Outcome.Applied,
            _ => Outcome.Either,
        };
    }

    private static HostileBody Finish(string kind, RawNode body, List<RawObject> events, Dictionary<int, Outcome> outcomes, string? bodyText = null)
    {
        var expected = new List<ExpectedEvent>();
        for (int i = 0; i < events.Count; i++)
        {
            var ids = events[i].Members.Where(m => m.Key == "\"event_id\"").ToList();
            if (events[i].OriginalId is not { } original || ids.Count > 1)
            {
                continue; // two event_id keys: which one is the event's is open (RFC 8259), so it is not checked
            }

            bool unchanged = ids.Count == 1 && ids[0].Value is RawText { IsString: true } id && Plain(id.Json) && Unquote(id.Json) == original;
            // The id was changed or removed: whatever became of the event, its original id must not be applied.
            expected.Add(new ExpectedEvent(original, unchanged ? outcomes.GetValueOrDefault(i, Outcome.Applied) : Outcome.Absent));
        }

        return new HostileBody { Kind = kind, Bytes = RawNode.Encode(bodyText ?? body.ToJsonText()), Events = expected };
    }

    /// <summary>An id string we can look up: plain printable text without escapes.</summary>
    private static bool Plain(string literal) => !literal.Contains('\\') && !literal.Any(c => c is >= '\uE000' and <= '\uE0FF');

    private static RawObject Body(List<RawObject> events)
    {
        var array = new RawArray();
        array.Items.AddRange(events);
        return new RawObject().Add("events", array);
    }

    private static string InsertInto(string literal, string insert, int where) =>
        // where: 0 = start, 1 = middle, 2 = end (inside the quotes)
        where switch
        {
            0 => "\"" + insert + literal[1..],
            1 => literal[..Math.Max(1, literal.Length / 2)] + insert + literal[Math.Max(1, literal.Length / 2)..],
            _ => literal[..^1] + insert + "\"",
        };

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

    /// <summary>The deterministic part: every field with the core wrong values, every string position (keys too)
    /// with every poison escape, invalid UTF-8, every depth, overlong ids, the limits and a 10,000-event transaction.</summary>
    public IEnumerable<Func<HostileBody>> FixedCorpus()
    {
        int slotCount = Slots(Template()).Count;
        for (int s = 0; s < slotCount; s++)
        {
            int slot = s;
            foreach (string value in CoreWrongValues)
            {
                yield return () => WrongType(slot, value);
            }

            foreach (string escape in PoisonEscapes.Take(3))
            {
                yield return () => PoisonString(slot, escape, key: false, where: 1);
                yield return () => PoisonString(slot, escape, key: true, where: 2);
            }
        }

        foreach (byte[] bytes in InvalidUtf8)
        {
            yield return () => InvalidBytes(bytes, new Random(bytes.Length));
        }

        foreach (int depth in Depths)
        {
            yield return () => Deep(depth, "content", new Random(depth));
            yield return () => Deep(depth, "top-level", new Random(depth));
        }

        foreach (int size in OverlongSizes)
        {
            foreach (string field in OverlongFields)
            {
                yield return () => Overlong(field, size, 1);
            }
        }

        yield return () => AtLimit(over: false);
        yield return () => AtLimit(over: true);
        yield return TenThousandEvents;
    }

    public HostileBody Build(FuzzCase c)
    {
        var rng = new Random(c.Seed);
        int slots = Slots(Template()).Count;
        return c.Kind switch
        {
            "wrong-type" => WrongType(rng.Next(slots), WrongValues[rng.Next(WrongValues.Length)]),
            "missing-field" => MissingField(rng),
            "nul" => PoisonString(rng.Next(slots), "\\u0000", key: rng.Next(4) == 0, where: rng.Next(3)),
            "surrogate" => PoisonString(rng.Next(slots), PoisonEscapes[1 + rng.Next(PoisonEscapes.Length - 1)], key: rng.Next(4) == 0, where: rng.Next(3)),
            "raw-surrogate" => InvalidBytes(InvalidUtf8[rng.Next(2)], rng),
            "invalid-utf8" => InvalidBytes(InvalidUtf8[rng.Next(InvalidUtf8.Length)], rng),
            "number" => Number(rng),
            "deep" => Deep(Depths[rng.Next(Depths.Length)], DeepPlaces[rng.Next(4)], rng),
            "duplicate" => Duplicate(rng),
            "overlong" => Overlong(OverlongFields[rng.Next(5)], OverlongSizes[rng.Next(3)], rng.Next(10)),
            "non-object-event" => NonObjectEvent(rng),
            "extra-top-level" => ExtraTopLevel(rng),
            "random-json" => RandomJson(rng),
            "limit" => AtLimit(over: rng.Next(2) == 0),
            "valid" => Valid(),
            _ => throw new ArgumentOutOfRangeException(nameof(c), c.Kind, "unknown kind"),
        };
    }

    public static HostileBody Valid()
    {
        var events = Template();
        return Finish("valid", Body(events), events, []);
    }

    public static HostileBody WrongType(int slotIndex, string value)
    {
        var events = Template();
        var slot = Slots(events)[slotIndex];
        slot.Member.Value = new RawText(value);
        return Finish($"wrong-type {slot.EventType} {string.Join('.', slot.Path)}={value}", Body(events), events,
            new() { [slot.EventIndex] = Replaced(slot, value) });
    }

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

    public static HostileBody MissingField(Random rng)
    {
        var events = Template();
        var slots = Slots(events).Where(s => s.Path.Length <= 2).ToList();
        var slot = slots[rng.Next(slots.Count)];
        var e = events[slot.EventIndex];
        var owner = slot.Path.Length == 1 ? e : (RawObject)e.Find(slot.Path[0])!.Value;
        var outcome = MissingKey(slot);
        if (slot.Path is ["event_id"])
        {
            // Keep the id findable: it must not be applied.
            var id = IdOf(e);
            owner.Members.Remove(slot.Member);
            var body = Finish($"missing {slot.EventType} event_id", Body(events), events, []);
            body.Events.Add(new ExpectedEvent(id, Outcome.Absent));
            return body;
        }

        owner.Members.Remove(slot.Member);
        return Finish($"missing {slot.EventType} {string.Join('.', slot.Path)}", Body(events), events, new() { [slot.EventIndex] = outcome });
    }

    public static HostileBody Number(Random rng)
    {
        var events = Template();
        int index = rng.Next(events.Count);
        string number = HugeNumbers[rng.Next(5)];
        if (rng.Next(2) == 0)
        {
            // A content key nothing reads: the event is applied, the number is never projected.
            ((RawObject)events[index].Find("content")!.Value).Add("n", new RawText(number));
            return Finish($"number content.n={number}", Body(events), events, []);
        }

        events[index].Find("origin_server_ts")!.Value = new RawText(number);
        return Finish($"number origin_server_ts={number}", Body(events), events, new() { [index] = Outcome.Either });
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

    public static HostileBody RandomJson(Random rng)
    {
        if (rng.Next(10) == 0)
        {
            var garbage = new byte[rng.Next(1, 64)];
            rng.NextBytes(garbage);
            return new HostileBody { Kind = "random bytes", Bytes = garbage };
        }

        var value = RandomValue(rng, 0);
        string text = rng.Next(2) == 0 ? "{\"events\":[" + value + "," + RandomValue(rng, 1) + "]}" : value;
        return new HostileBody { Kind = "random json", Bytes = RawNode.Encode(text) };
    }

    private static string RandomValue(Random rng, int depth)
    {
        int pick = rng.Next(depth > 4 ? 6 : 9);
        switch (pick)
        {
            case 0: return "null";
            case 1: return rng.Next(2) == 0 ? "true" : "false";
            case 2: return RandomNumbers[rng.Next(7)];
            case 3:
            case 4: return RandomString(rng);
            case 5: return "\"" + RandomIds[rng.Next(5)] + "\"";
            case 6:
            case 7:
            {
                int n = rng.Next(5);
                var members = Enumerable.Range(0, n).Select(_ =>
                    (rng.Next(3) == 0 ? "\"" + RandomKeys[rng.Next(7)] + "\"" : RandomString(rng))
                    + ":" + RandomValue(rng, depth + 1));
                return "{" + string.Join(',', members) + "}";
            }

            default:
                return "[" + string.Join(',', Enumerable.Range(0, rng.Next(5)).Select(_ => RandomValue(rng, depth + 1))) + "]";
        }
    }

    private static string RandomString(Random rng)
    {
        var sb = new StringBuilder("\"");
        int length = rng.Next(12);
        for (int i = 0; i < length; i++)
        {
            switch (rng.Next(12))
            {
                case 0: sb.Append(PoisonEscapes[rng.Next(PoisonEscapes.Length)]); break;
                case 1: sb.Append("\\n\\\"\\\\\\/"); break;
                case 2: sb.Append(char.ConvertFromUtf32(rng.Next(0x1F600, 0x1F64F))); break;
                case 3: sb.Append((char)rng.Next(0x00A0, 0xD7FF)); break;
                default: sb.Append((char)rng.Next('a', 'z' + 1)); break;
            }
        }

        return sb.Append('"').ToString();
    }

    /// <summary>A valid transaction padded to exactly the limit (200, all applied) or one byte over it (413, nothing).</summary>
    public HostileBody AtLimit(bool over)
    {
        var events = Template();
        var body = Body(events);
        var pad = new RawText("\"\"");
        body.Add("com.example.padding", pad);
        int size = RawNode.Encode(body.ToJsonText()).Length;
        long target = MaxTransactionBytes + (over ? 1 : 0);
        // Multi-byte characters in the padding too, so the limit is counted in bytes, not characters.
        int fill = (int)(target - size);
        string padding = new string('é', Math.Min(fill / 4, 1000));
        padding += new string('p', fill - Encoding.UTF8.GetByteCount(padding));
        pad.Json = "\"" + padding + "\"";
        var result = Finish(over ? "limit+1" : "limit", body, events,
            over ? Enumerable.Range(0, events.Count).ToDictionary(i => i, _ => Outcome.Absent) : []);
        if (result.Bytes.Length != target)
        {
            throw new InvalidOperationException($"padding miscounted: {result.Bytes.Length} != {target}");
        }

        return result;
    }

    /// <summary>10,000 small messages in one transaction (compact, so they fit a 1 MiB limit).</summary>
    public static HostileBody TenThousandEvents()
    {
        // Short ids and names: 10,000 events in about 820 KB.
        long run = Interlocked.Increment(ref _counter);
        string room = $"!b{run}:t";
        string prefix = $"$k{run}_{Guid.NewGuid().ToString("N")[..6]}.";
        var sb = new StringBuilder("{\"events\":[");
        var expected = new List<ExpectedEvent>(10_000);
        for (int i = 0; i < 10_000; i++)
        {
            string id = prefix + i.ToString(CultureInfo.InvariantCulture);
            sb.Append(i == 0 ? "" : ",")
                .Append("{\"event_id\":\"").Append(id).Append("\",\"room_id\":\"").Append(room)
                .Append("\",\"type\":\"t\",\"sender\":\"@a:t\",\"content\":{}}");
            expected.Add(new ExpectedEvent(id, Outcome.Applied));
        }

        sb.Append("]}");
        return new HostileBody { Kind = "10,000 events", Bytes = RawNode.Encode(sb.ToString()), Events = expected };
    }
}
