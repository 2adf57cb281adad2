using System.Globalization;
using System.Text;

namespace AppService.IntegrationTests.Fuzz;

/// <summary>
/// Builds hostile transaction bodies. The base is a valid 10-event transaction of a fresh room (create, two members,
/// name, topic, join rules, message, alias, redaction, history visibility); a mutation then breaks one thing in it
/// and records what the contract says must happen to each event. Event ids are fresh for every body.
/// </summary>
public sealed partial class HostileBodies(long maxTransactionBytes)
{
    public const string Alice = "@alice:test";
    public const string Bob = "@bob:test";

    /// <summary>The families FsCheck draws from, with weights.</summary>
    public static readonly (int Weight, string Kind)[] Kinds =
    [
        (25, "wrong-type"), (5, "missing-field"), (12, "nul"), (12, "surrogate"), (4, "raw-surrogate"), (6, "invalid-utf8"),
        (5, "number"), (4, "deep"), (5, "duplicate"), (4, "overlong"), (4, "non-object-event"), (4, "extra-top-level"),
        (5, "random-json"), (1, "limit"), (3, "valid"),
    ];

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
}
