using AppService.Matrix;

namespace AppService.Projections;

/// <summary>Redactions of current state (<see cref="RedactionAuth"/> decides whether the homeserver applied them).</summary>
public sealed partial class ProjectionBatch
{
    private readonly List<UnappliedRedaction> _unappliedRedactions = [];
    private readonly List<(string RoomId, string Type, string StateKey, string EventId)> _redactions = [];

    // Redactions whose target we never processed (issue 16 point 6): by target id, loaded from pending_redactions for
    // this batch's new state events (Stored), or met earlier in this batch (to be remembered unless their target comes).
    private readonly Dictionary<string, PendingRedactionRef> _pendingByTarget = new(StringComparer.Ordinal);
    private readonly List<string> _resolvedPending = [];
    private readonly HashSet<string> _processedTargets = new(StringComparer.Ordinal);
    private readonly HashSet<string> _appliedInBatch = new(StringComparer.Ordinal);

    // Processed targets that are not state events (a message): their redaction cannot change what a snapshot writes.
    private readonly HashSet<string> _processedNonStateTargets = new(StringComparer.Ordinal);

    // Rooms of the new redactions in this batch whose target may be a state event: see RerunResyncRooms.
    private readonly HashSet<string> _redactedRooms = new(StringComparer.Ordinal);

    /// <summary>Redactions met in this batch whose target is unknown, to be remembered (<c>pending_redactions</c>).</summary>
    public IEnumerable<PendingRedactionRef> NewPendingRedactions =>
        _pendingByTarget.Values.Where(p => !p.Stored).OrderBy(p => p.TargetEventId, StringComparer.Ordinal);

    /// <summary>Stored pending redactions whose target arrived in this batch (applied or refused): to be forgotten.</summary>
    public IReadOnlyList<string> ResolvedPendingRedactions => _resolvedPending;

    /// <summary>Seeds the batch with a stored redaction waiting for <paramref name="targetEventId"/> (a new event of this batch).</summary>
    public void LoadPendingRedaction(string targetEventId, string roomId, string redactionEventId, string sender) =>
        _pendingByTarget[targetEventId] = new PendingRedactionRef(targetEventId, roomId, redactionEventId, sender, Stored: true);

    /// <summary>
    /// Tells the batch that a redaction's target was processed before this transaction (so it is not waited for), and
    /// whether it may be a state event (false only for a message: no state key, and a message type).
    /// </summary>
    public void LoadProcessedTarget(string targetEventId, bool isState)
    {
        _processedTargets.Add(targetEventId);
        if (!isState)
        {
            _processedNonStateTargets.Add(targetEventId);
        }
    }

    /// <summary>
    /// Rooms whose running resync (if any) must fetch again, without queuing one if none runs: a snapshot fetched
    /// before a redaction may still show the unredacted content. Not only a redaction that changed a projection: its
    /// target may be a state event we did not apply (processed while the room was suspect, or never seen) that the
    /// running resync's snapshot still holds unredacted, and would write. Only a redaction whose target we processed
    /// as a message (no state key) is left out: every rerun makes the resync fetch the whole room again, and in a busy
    /// room, message deletions coming faster than a fetch would otherwise keep the resync fetching for ever. A room with
    /// no running resync costs nothing (<see cref="Data.JobSql.InsertJobs"/> touches running jobs only).
    /// </summary>
    public IEnumerable<string> RerunResyncRooms => _redactions
        .Select(r => r.RoomId)
        .Concat(_redactedRooms)
        .Where(roomId => !_jobs.ContainsKey(JobRequest.DedupKeyOf(JobKinds.Resync, roomId)))
        .Distinct(StringComparer.Ordinal)
        .Order(StringComparer.Ordinal);

    /// <summary>Redactions that hit the current state event of a key (and so changed a projection).</summary>
    public IReadOnlyList<(string RoomId, string Type, string StateKey, string EventId)> Redactions => _redactions;

    /// <summary>Redactions of current state the homeserver would not apply, or that we could not decide (logged, counted).</summary>
    public IReadOnlyList<UnappliedRedaction> UnappliedRedactions => _unappliedRedactions;

    /// <summary>
    /// A redaction changes a projection only if its target is the current state event of some key; applies to
    /// targets loaded from <c>room_state</c> or <c>room_members</c> and to targets earlier in this same batch alike. It is applied only if the
    /// homeserver applies it (<see cref="RedactionAuth"/>): otherwise nothing changes, and an undecided one resyncs.
    /// </summary>
    private void ApplyRedaction(MatrixEvent redaction, string redactedEventId)
    {
        if (!_processedNonStateTargets.Contains(redactedEventId))
        {
            _redactedRooms.Add(redaction.RoomId);
        }

        ApplyRedaction(redaction.RoomId, redaction.EventId, redaction.Sender, redactedEventId, rememberIfUnknown: true);
    }

    private void ApplyRedaction(string roomId, string redactionEventId, string redacter, string redactedEventId, bool rememberIfUnknown)
    {
        if (_state.KeyOf(redactedEventId) is not { } key || key.RoomId != roomId)
        {
            // Not a current state event. If we never processed the target, the redaction came first (federation delivers
            // out of order; a snapshot or a backlog can too): remember it for when the target arrives.
            if (rememberIfUnknown && !_processedTargets.Contains(redactedEventId) && !_appliedInBatch.Contains(redactedEventId))
            {
                _pendingByTarget.TryAdd(redactedEventId, new PendingRedactionRef(redactedEventId, roomId, redactionEventId, redacter, Stored: false));
            }

            return;
        }

        var verdict = RedactionAuth.Decide(_rooms[roomId], redactionEventId, redacter, redactedEventId, SenderOf(redactedEventId));
        if (verdict != RedactionVerdict.Allowed)
        {
            _unappliedRedactions.Add(new UnappliedRedaction(roomId, redactionEventId, redacter, redactedEventId, key.Type, key.StateKey, verdict));
            if (verdict == RedactionVerdict.Undecided)
            {
                AddJob(JobKinds.Resync, roomId, JobReasons.RedactionUndecided);
            }

            return;
        }

        if (key.Type == EventTypes.Member)
        {
            if (Member(roomId, key.StateKey) is { } member && member.EventId == redactedEventId)
            {
                var redacted = Redaction.Apply(member, Now);
                if (!ReferenceEquals(redacted, member))
                {
                    MembersOf(roomId)[key.StateKey] = redacted;
                    _dirtyMembers.Add((roomId, key.StateKey));
                }
            }
        }
        else if (key.StateKey.Length == 0)
        {
            var room = _rooms[roomId];
            var redacted = Redaction.Apply(room, key.Type, Now);
            if (!ReferenceEquals(redacted, room))
            {
                SetRoom(redacted);
            }
        }

        _redactions.Add((key.RoomId, key.Type, key.StateKey, redactedEventId));
    }

    /// <summary>
    /// Called after a new state event became current: a redaction that arrived before it applies now, by the same
    /// rules as one that arrives after (<see cref="RedactionAuth"/>).
    /// </summary>
    private void ApplyPendingRedaction(MatrixEvent target)
    {
        if (!_pendingByTarget.Remove(target.EventId, out var pending) || pending.RoomId != target.RoomId)
        {
            return;
        }

        if (pending.Stored)
        {
            _resolvedPending.Add(pending.TargetEventId);
        }

        ApplyRedaction(pending.RoomId, pending.RedactionEventId, pending.Sender, target.EventId, rememberIfUnknown: false);
    }
}

/// <summary>A redaction waiting for its target (<see cref="Data.PendingRedaction"/>); <see cref="Stored"/>: a row exists.</summary>
public sealed record PendingRedactionRef(string TargetEventId, string RoomId, string RedactionEventId, string Sender, bool Stored);
