using AppService.Matrix;

namespace AppService.Projections;

/// <summary>Redactions of current state (<see cref="RedactionAuth"/> decides whether the homeserver applied them).</summary>
public sealed partial class ProjectionBatch
{
    private readonly List<UnappliedRedaction> _unappliedRedactions = [];
    private readonly List<(string RoomId, string Type, string StateKey, string EventId)> _redactions = [];

    /// <summary>
    /// Rooms whose running resync (if any) must fetch again, without queuing one if none runs: a redaction changed
    /// a projection, and a snapshot fetched before it may still show the unredacted content.
    /// </summary>
    public IEnumerable<string> RerunResyncRooms => _redactions
        .Select(r => r.RoomId)
        .Where(roomId => !_jobs.ContainsKey(JobRequest.DedupKeyOf(JobKinds.Resync, roomId)))
        .Distinct(StringComparer.Ordinal)
        .Order(StringComparer.Ordinal);

    /// <summary>Redactions that hit the current state event of a key (and so changed a projection).</summary>
    public IReadOnlyList<(string RoomId, string Type, string StateKey, string EventId)> Redactions => _redactions;

    /// <summary>Redactions of current state the homeserver would not apply, or that we could not decide (logged, counted).</summary>
    public IReadOnlyList<UnappliedRedaction> UnappliedRedactions => _unappliedRedactions;

    /// <summary>
    /// A redaction changes a projection only if its target is the current state event of some key; applies to
    /// targets loaded from <c>room_state</c> and to targets earlier in this same batch alike. It is applied only if the
    /// homeserver applies it (<see cref="RedactionAuth"/>): otherwise nothing changes, and an undecided one resyncs.
    /// </summary>
    private void ApplyRedaction(MatrixEvent redaction, string redactedEventId)
    {
        string roomId = redaction.RoomId;
        if (_state.KeyOf(redactedEventId) is not { } key || key.RoomId != roomId)
        {
            return;
        }

        var verdict = RedactionAuth.Decide(_rooms[roomId], redaction.EventId, redaction.Sender, redactedEventId, SenderOf(redactedEventId));
        if (verdict != RedactionVerdict.Allowed)
        {
            _unappliedRedactions.Add(new UnappliedRedaction(roomId, redaction.EventId, redaction.Sender, redactedEventId, key.Type, key.StateKey, verdict));
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
}
