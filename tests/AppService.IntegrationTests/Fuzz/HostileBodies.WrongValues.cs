using System.Globalization;
using System.Text;

namespace AppService.IntegrationTests.Fuzz;

/// <summary>Wrong values: every field with a value of another JSON type, required fields missing, numbers outside every machine range.</summary>
public sealed partial class HostileBodies
{
    /// <summary>Values of every JSON type, including numbers outside every machine range.</summary>
    public static readonly string[] WrongValues =
    [
        "null", "true", "false", "0", "-1", "1.5", "1e999999", "-1e-999999", "123456789012345678901234567890", "-0",
        "\"\"", "\"x\"", "[]", "[1,\"a\",null]", "{}", "{\"a\":{\"b\":null}}",
    ];

    /// <summary>The short list tried on every field, in <see cref="FixedCorpus"/>.</summary>
    public static readonly string[] CoreWrongValues = ["null", "true", "0", "1e999999", "\"\"", "[]", "{}"];

    private static readonly string[] HugeNumbers = ["1e999999", "-1e-999999", "123456789012345678901234567890", "1E+400", "-0.0000000000000000000000000001e-99999"];

    public static HostileBody WrongType(int slotIndex, string value)
    {
        var events = Template();
        var slot = Slots(events)[slotIndex];
        slot.Member.Value = new RawText(value);
        return Finish($"wrong-type {slot.EventType} {string.Join('.', slot.Path)}={value}", Body(events), events,
            new() { [slot.EventIndex] = Replaced(slot, value) });
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
}
