namespace AppService.Simulator.Sending;

/// <summary>What real homeservers do wrong, injected on request (<c>--faults</c>).</summary>
[Flags]
internal enum Faults
{
    None = 0,

    /// <summary>Events already delivered re-sent in new transactions (synapse#11447, #18532).</summary>
    Duplicates = 1,

    /// <summary>txnIds restart at 1 with new events (synapse#14556).</summary>
    TxnRestart = 2,

    /// <summary>Every transaction delivered by several concurrent requests with the same txnId.</summary>
    Concurrent = 4,

    /// <summary>Malformed events that must be rejected without blocking the stream.</summary>
    Poison = 8,

    All = Duplicates | TxnRestart | Concurrent | Poison,
}

internal enum HomeserverMode
{
    /// <summary>≤100 events per transaction, increasing integer txnIds with gaps, retries re-fetch events.</summary>
    Synapse,

    /// <summary>≤50 events plus re-sent state, txnId = nanosecond timestamp, the same txnId re-sent with more events.</summary>
    Dendrite,
}

internal static class FaultNames
{
    public static bool TryParse(string text, out Faults faults)
    {
        faults = Faults.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            switch (part)
            {
                case "none": break;
                case "duplicates": faults |= Faults.Duplicates; break;
                case "txn-restart": faults |= Faults.TxnRestart; break;
                case "concurrent": faults |= Faults.Concurrent; break;
                case "poison": faults |= Faults.Poison; break;
                case "all": faults |= Faults.All; break;
                default: return false;
            }
        }
        return true;
    }

    public static string Format(Faults faults)
    {
        if (faults == Faults.None)
        {
            return "none";
        }
        var names = new List<string>();
        if (faults.HasFlag(Faults.Duplicates))
        {
            names.Add("duplicates");
        }
        if (faults.HasFlag(Faults.TxnRestart))
        {
            names.Add("txn-restart");
        }
        if (faults.HasFlag(Faults.Concurrent))
        {
            names.Add("concurrent");
        }
        if (faults.HasFlag(Faults.Poison))
        {
            names.Add("poison");
        }
        return string.Join(',', names);
    }
}
