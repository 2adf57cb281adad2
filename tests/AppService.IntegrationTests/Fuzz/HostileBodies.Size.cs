using System.Globalization;
using System.Text;

namespace AppService.IntegrationTests.Fuzz;

/// <summary>Size: a body exactly at and one byte over the limit, and a transaction of 10,000 events.</summary>
public sealed partial class HostileBodies
{
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
