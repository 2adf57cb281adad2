namespace AppService.Simulator.Workload;

/// <summary>What to generate. The same options give the same workload, byte for byte.</summary>
internal sealed record WorkloadOptions
{
    /// <summary>Number of events pushed to the application service (history that is not pushed comes on top).</summary>
    public int Events { get; init; } = 20_000;

    public int Rooms { get; init; } = 50;

    public int Users { get; init; } = 400;

    public long Seed { get; init; } = 1;

    public string BotUserId { get; init; } = "@bot:localhost";

    /// <summary>Prefix of ghost users in the application service's users namespace (registration.yaml).</summary>
    public string GhostPrefix { get; init; } = "@_bot_";

    /// <summary>Also redact random current state by random joined users (a quarter of redactions). Every workload
    /// has the scheduled cross-server state redactions regardless.</summary>
    public bool RedactState { get; init; }

    public string ServerName => BotUserId[(BotUserId.IndexOf(':', StringComparison.Ordinal) + 1)..];
}
