namespace AppService.Simulator.Workload;

/// <summary>A generated workload: the homeserver's whole stream, of which the <see cref="SimEvent.Pushed"/>
/// events are sent to the application service.</summary>
internal sealed class Workload
{
    public required WorkloadOptions Options { get; init; }

    /// <summary>Every event in homeserver stream order, pushed or not.</summary>
    public required IReadOnlyList<SimEvent> Stream { get; init; }

    /// <summary>Rooms in creation order.</summary>
    public required IReadOnlyList<(string RoomId, string RoomVersion)> Rooms { get; init; }

    public required IReadOnlyList<string> Users { get; init; }

    public IEnumerable<SimEvent> Pushed => Stream.Where(e => e.Pushed);

    /// <summary>The true state of the homeserver after the whole stream (what a resync would fetch).</summary>
    public HomeserverState ReplayTrueState(int streamLength) =>
        HomeserverState.Replay(Stream.Take(streamLength), Options.BotUserId, Options.GhostPrefix, Rooms);
}
