namespace AppService.Projections;

/// <summary>
/// A pushed state event that does not follow the event we hold for its key: its <c>unsigned.replaces_state</c> names
/// another event, or it has none (<see cref="ReplacesEventId"/> null) while we hold one. It was not applied.
/// </summary>
public sealed record StateMismatch(string RoomId, string Type, string StateKey, string HeldEventId, string? ReplacesEventId, string EventId);

/// <summary>A redaction of current state that was not applied (<see cref="RedactionAuth"/>): refused, or undecided (resync queued).</summary>
public sealed record UnappliedRedaction(
    string RoomId, string RedactionEventId, string Redacter, string TargetEventId, string Type, string StateKey, RedactionVerdict Verdict);

/// <summary>
/// The replaces_state mismatches of one room in one batch: how many state events disagreed with what we held, the
/// first of them as an example, and whether the room was already suspect before this batch. One per room, so a
/// stale room costs one log line per transaction, not one per event.
/// </summary>
public sealed record RoomStateMismatches(string RoomId, int Count, StateMismatch Example, bool WasSuspect);
