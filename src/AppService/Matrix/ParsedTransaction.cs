using System.Runtime.InteropServices;
using System.Text.Json;

namespace AppService.Matrix;

/// <summary>What a transaction body holds once it has been validated event by event.</summary>
public sealed class ParsedTransaction
{
    public List<MatrixEvent> Events { get; } = [];

    public List<RejectedEvent> Rejected { get; } = [];

    /// <summary>The raw JSON of each of <see cref="Events"/>, same order: what the safety net stores when one fails.</summary>
    public List<JsonElement> Sources { get; } = [];

    /// <summary>The raw UTF-8 of an event of <see cref="Events"/> (found by reference; only the safety net asks).</summary>
    public ReadOnlyMemory<byte> SourceOf(MatrixEvent e)
    {
        int i = Events.FindIndex(x => ReferenceEquals(x, e));
        return i < 0 ? ReadOnlyMemory<byte>.Empty : JsonMarshal.GetRawUtf8Value(Sources[i]).ToArray();
    }

    /// <summary>Ephemeral entries (stable and MSC2409 keys, de-duplicated): counted, not stored.</summary>
    public int EphemeralCount { get; set; }

    /// <summary>To-device messages (MSC2409/MSC4203): counted, not stored.</summary>
    public int ToDeviceCount { get; set; }

    /// <summary>Whether MSC3202 device-list / key-count keys were present: counted, not stored.</summary>
    public bool HasDeviceData { get; set; }

    /// <summary>
    /// SHA-256 over the ids (or raw JSON, for events without an id) of every event in order: tells a replay of the
    /// same txnId from a reuse of it with other events.
    /// </summary>
    public byte[] ContentHash { get; set; } = [];

    public int TotalEvents => Events.Count + Rejected.Count;
}

public sealed class TransactionBodyException(string errCode, string message) : Exception(message)
{
    public string ErrCode { get; } = errCode;
}
