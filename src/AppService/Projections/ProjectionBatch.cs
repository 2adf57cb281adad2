using System.Runtime.InteropServices;
using AppService.Matrix;

namespace AppService.Projections;

/// <summary>A pushed state event whose <c>unsigned.replaces_state</c> is not the event we hold for its key.</summary>
public sealed record StateMismatch(string RoomId, string Type, string StateKey, string HeldEventId, string ReplacesEventId, string EventId);

/// <summary>A redaction of current state that was not applied (<see cref="RedactionAuth"/>): refused, or undecided (resync queued).</summary>
public sealed record UnappliedRedaction(
    string RoomId, string RedactionEventId, string Redacter, string TargetEventId, string Type, string StateKey, RedactionVerdict Verdict);

/// <summary>
/// The replaces_state mismatches of one room in one batch: how many state events disagreed with what we held, the
/// first of them as an example, and whether the room was already suspect before this batch. One per room, so a
/// stale room costs one log line per transaction, not one per event.
/// </summary>
public sealed record RoomStateMismatches(string RoomId, int Count, StateMismatch Example, bool WasSuspect);

/// <summary>
/// The projection state one transaction touches, loaded from the database, then changed event by event in
/// transaction order. No I/O: the caller loads it, applies the new events and writes back <see cref="DirtyRooms"/>,
/// <see cref="DirtyMembers"/>, <see cref="StateWrites"/>, <see cref="PurgedRooms"/> and <see cref="Jobs"/>.
/// </summary>
public sealed class ProjectionBatch(string botUserId, DateTimeOffset now, bool autoJoin = true, InvitePolicy? invitePolicy = null)
{
    private readonly Dictionary<string, RoomInfo> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, RoomMember>> _members = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirtyRooms = new(StringComparer.Ordinal);
    private readonly HashSet<(string RoomId, string UserId)> _dirtyMembers = [];
    private readonly HashSet<string> _purgedRooms = new(StringComparer.Ordinal);
    private readonly Dictionary<(string RoomId, string Type, string StateKey), string> _stateWrites = [];
    private readonly List<(MatrixEvent Event, MembershipChange Change)> _membershipChanges = [];

    // The current state event id per key, as far as this batch knows it (loaded rows, then every applied event),
    // and the reverse map, so a redaction finds what its target currently sets.
    private readonly Dictionary<(string RoomId, string Type, string StateKey), string> _state = [];
    private readonly Dictionary<string, (string RoomId, string Type, string StateKey)> _stateByEventId = new(StringComparer.Ordinal);

    // The sender of each current state event, where known (rows stored before senders were kept have none).
    private readonly Dictionary<string, string> _senderByEventId = new(StringComparer.Ordinal);
    private readonly List<UnappliedRedaction> _unappliedRedactions = [];
    private readonly List<MatrixEvent> _refusedInvites = [];

    private readonly Dictionary<string, JobRequest> _jobs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (StateMismatch Example, int Count, bool WasSuspect)> _mismatches = new(StringComparer.Ordinal);
    private readonly List<(string RoomId, string Type, string StateKey, string EventId)> _redactions = [];

    public string BotUserId { get; } = botUserId;

    public DateTimeOffset Now { get; } = now;

    /// <summary>Rooms whose row must be written (new or changed), in room_id order.</summary>
    public IEnumerable<RoomInfo> DirtyRooms => _dirtyRooms.Order(StringComparer.Ordinal).Select(id => _rooms[id]);

    /// <summary>Member rows to upsert, sorted by key (so concurrent writers lock in one order).</summary>
    public IEnumerable<RoomMember> DirtyMembers => _dirtyMembers
        .OrderBy(k => k.RoomId, StringComparer.Ordinal).ThenBy(k => k.UserId, StringComparer.Ordinal)
        .Select(k => _members[k.RoomId][k.UserId]);

    /// <summary>Rooms whose member rows must all be deleted before the upserts (the bot left, was kicked or banned).</summary>
    public IReadOnlyCollection<string> PurgedRooms => _purgedRooms;

    /// <summary>Current state event id per (room, type, state_key) after this batch.</summary>
    public IReadOnlyDictionary<(string RoomId, string Type, string StateKey), string> StateWrites => _stateWrites;

    /// <summary>Every membership event applied, with what it meant (for logs and metrics).</summary>
    public IReadOnlyList<(MatrixEvent Event, MembershipChange Change)> MembershipChanges => _membershipChanges;

    /// <summary>Homeserver work the batch calls for, one per dedup key, in dedup-key order.</summary>
    public IEnumerable<JobRequest> Jobs => _jobs.OrderBy(j => j.Key, StringComparer.Ordinal).Select(j => j.Value);

    /// <summary>
    /// Rooms whose running resync (if any) must fetch again, without queuing one if none runs: a redaction changed
    /// a projection, and a snapshot fetched before it may still show the unredacted content.
    /// </summary>
    public IEnumerable<string> RerunResyncRooms => _redactions
        .Select(r => r.RoomId)
        .Where(roomId => !_jobs.ContainsKey(JobRequest.DedupKeyOf(JobKinds.Resync, roomId)))
        .Distinct(StringComparer.Ordinal)
        .Order(StringComparer.Ordinal);

    /// <summary>
    /// Per room, the state events whose replaces_state did not match what we held (the room is marked suspect), in
    /// the order the rooms first mismatched.
    /// </summary>
    public IEnumerable<RoomStateMismatches> Mismatches =>
        _mismatches.Select(m => new RoomStateMismatches(m.Key, m.Value.Count, m.Value.Example, m.Value.WasSuspect));

    /// <summary>Redactions that hit the current state event of a key (and so changed a projection).</summary>
    public IReadOnlyList<(string RoomId, string Type, string StateKey, string EventId)> Redactions => _redactions;

    /// <summary>Redactions of current state the homeserver would not apply, or that we could not decide (logged, counted).</summary>
    public IReadOnlyList<UnappliedRedaction> UnappliedRedactions => _unappliedRedactions;

    /// <summary>Invites of the bot not followed by a join: the inviter is not allowed (<see cref="InvitePolicy"/>).</summary>
    public IReadOnlyList<MatrixEvent> RefusedInvites => _refusedInvites;

    /// <summary>The sender of a current state event (for <c>room_state.sender</c>), if known.</summary>
    public string? SenderOf(string eventId) => _senderByEventId.GetValueOrDefault(eventId);

    public bool HasRoom(string roomId) => _rooms.ContainsKey(roomId);

    public RoomInfo? Room(string roomId) => _rooms.GetValueOrDefault(roomId);

    public RoomMember? Member(string roomId, string userId) =>
        _members.TryGetValue(roomId, out var byUser) ? byUser.GetValueOrDefault(userId) : null;

    /// <summary>Seeds the batch with a stored room row.</summary>
    public void LoadRoom(RoomInfo room) => _rooms[room.RoomId] = room;

    /// <summary>Seeds the batch with a stored member row.</summary>
    public void LoadMember(RoomMember member) => MembersOf(member.RoomId)[member.UserId] = member;

    /// <summary>Seeds the batch with a stored <c>room_state</c> row: the id of the current event for a key, and its sender if stored.</summary>
    public void LoadState(string roomId, string type, string stateKey, string eventId, string? sender = null) =>
        SetCurrent((roomId, type, stateKey), eventId, sender);

    /// <summary>Applies one new (never before processed) event.</summary>
    public void Apply(MatrixEvent e)
    {
        EnsureRoom(e.RoomId);
        if (e.Type == EventTypes.Redaction && e.Redacts is { } redacts)
        {
            ApplyRedaction(e, redacts);
        }

        if (!e.IsState)
        {
            return;
        }

        var key = (e.RoomId, e.Type, e.StateKey!);
        CheckReplacesState(key, e);
        SetCurrent(key, e.EventId, string.IsNullOrEmpty(e.Sender) ? null : e.Sender);
        _stateWrites[key] = e.EventId;

        if (e.Type == EventTypes.Member)
        {
            ApplyMember(e);
        }
        else if (e.StateKey!.Length == 0 && RoomInfoProjector.Handles(e.Type))
        {
            SetRoom(RoomInfoProjector.Apply(_rooms[e.RoomId], e, Now));
        }
    }

    /// <summary>
    /// The spec's reconciliation hint (facts 4.3): a state event names the event it replaced. If we hold a different
    /// one for that key we missed or misordered something, so the whole room is suspect and gets a resync. A key we
    /// hold nothing for (first sight, or a room we never synced) says nothing about drift.
    /// </summary>
    private void CheckReplacesState((string RoomId, string Type, string StateKey) key, MatrixEvent e)
    {
        if (e.ReplacesState is not { } replaces || !_state.TryGetValue(key, out string? held) || held == replaces)
        {
            return;
        }

        // Once a room is suspect in this batch, a further mismatch only counts: the room row, the resync job and the
        // example are already there (a stale room sends 53 of these in every transaction of the shared benchmark).
        ref var seen = ref CollectionsMarshal.GetValueRefOrAddDefault(_mismatches, key.RoomId, out bool exists);
        if (exists)
        {
            seen.Count++;
            return;
        }

        var room = _rooms[key.RoomId];
        seen = (new StateMismatch(key.RoomId, key.Type, key.StateKey, held, replaces, e.EventId), 1, room.Suspect);
        if (!room.Suspect)
        {
            SetRoom(room with { Suspect = true, UpdatedAt = Now });
        }

        // Queued even for a room already suspect: its earlier resync may have given up. The open job's dedup key
        // folds this one into it when it is still queued.
        AddJob(JobKinds.Resync, key.RoomId, JobReasons.ReplacesState);
    }

    /// <summary>
    /// A redaction changes a projection only if its target is the current state event of some key; applies to
    /// targets loaded from <c>room_state</c> and to targets earlier in this same batch alike. It is applied only if the
    /// homeserver applies it (<see cref="RedactionAuth"/>): otherwise nothing changes, and an undecided one resyncs.
    /// </summary>
    private void ApplyRedaction(MatrixEvent redaction, string redactedEventId)
    {
        string roomId = redaction.RoomId;
        if (!_stateByEventId.TryGetValue(redactedEventId, out var key) || key.RoomId != roomId)
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

    private void ApplyMember(MatrixEvent e)
    {
        var members = MembersOf(e.RoomId);
        var (next, change) = MembershipProjector.Apply(members.GetValueOrDefault(e.StateKey!), e, Now);
        members[next.UserId] = next;
        _dirtyMembers.Add((next.RoomId, next.UserId));
        _membershipChanges.Add((e, change));

        if (next.UserId != BotUserId)
        {
            return;
        }

        var room = _rooms[e.RoomId] with { BotMembership = next.Membership, UpdatedAt = Now };
        switch (next.Membership)
        {
            case Memberships.Invite:
                room = StrippedState.Seed(room, e, Now);
                if (autoJoin)
                {
                    if (invitePolicy is null || invitePolicy.Allows(e.Sender))
                    {
                        AddJob(JobKinds.Join, e.RoomId, JobReasons.Invite);
                    }
                    else
                    {
                        _refusedInvites.Add(e);
                    }
                }

                break;

            // Pushed events start at the invite: everything before it (and everything while the bot was out) is
            // only in the homeserver's state, so every (re)join resyncs; so does any bot join event in a room we
            // never synced (deployed into rooms the bot was already in).
            case Memberships.Join when change != MembershipChange.ProfileChanged || room.LastSyncedAt is null:
                AddJob(JobKinds.Resync, e.RoomId, JobReasons.BotJoined);
                break;

            case Memberships.Leave or Memberships.Ban:
                Purge(e.RoomId);
                break;
        }

        SetRoom(room);
    }

    /// <summary>
    /// The bot is out of the room: its member data goes, RoomInfo and the other state ids stay (with bot_membership).
    /// Those ids go stale while the bot is out; after a re-join the resync replaces them, and until then a
    /// replaces_state mismatch against them rightly marks the room suspect.
    /// </summary>
    private void Purge(string roomId)
    {
        _purgedRooms.Add(roomId);
        if (_members.Remove(roomId, out var removed))
        {
            foreach (string userId in removed.Keys)
            {
                _dirtyMembers.Remove((roomId, userId));
            }
        }

        foreach (var key in _stateWrites.Keys.Where(k => k.RoomId == roomId && k.Type == EventTypes.Member).ToList())
        {
            _stateWrites.Remove(key);
        }

        foreach (var key in _state.Keys.Where(k => k.RoomId == roomId && k.Type == EventTypes.Member).ToList())
        {
            _stateByEventId.Remove(_state[key]);
            _senderByEventId.Remove(_state[key]);
            _state.Remove(key);
        }
    }

    private void SetCurrent((string RoomId, string Type, string StateKey) key, string eventId, string? sender)
    {
        if (_state.TryGetValue(key, out string? previous) && previous != eventId)
        {
            _stateByEventId.Remove(previous);
            _senderByEventId.Remove(previous);
        }

        _state[key] = eventId;
        _stateByEventId[eventId] = key;
        if (sender is not null)
        {
            _senderByEventId[eventId] = sender;
        }
    }

    private void AddJob(string kind, string roomId, string reason)
    {
        var job = new JobRequest(kind, roomId, reason);
        _jobs.TryAdd(job.DedupKey, job);
    }

    private void EnsureRoom(string roomId)
    {
        if (!_rooms.ContainsKey(roomId))
        {
            SetRoom(new RoomInfo(roomId) { UpdatedAt = Now });
        }
    }

    private void SetRoom(RoomInfo room)
    {
        _rooms[room.RoomId] = room;
        _dirtyRooms.Add(room.RoomId);
    }

    private Dictionary<string, RoomMember> MembersOf(string roomId)
    {
        if (!_members.TryGetValue(roomId, out var byUser))
        {
            byUser = new Dictionary<string, RoomMember>(StringComparer.Ordinal);
            _members[roomId] = byUser;
        }

        return byUser;
    }
}
