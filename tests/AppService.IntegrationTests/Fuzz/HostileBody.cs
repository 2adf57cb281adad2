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
