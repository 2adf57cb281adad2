using System.Runtime.InteropServices;
using AppService.Matrix;

namespace AppService.Projections;

/// <summary>
/// The projection state one transaction touches, loaded from the database, then changed event by event in
/// transaction order. No I/O: the caller loads it, applies the new events and writes back <see cref="DirtyRooms"/>,
/// <see cref="DirtyMembers"/>, <see cref="StateWrites"/>, <see cref="PurgedRooms"/> and <see cref="Jobs"/>.
/// </summary>
public sealed partial class ProjectionBatch(string botUserId, DateTimeOffset now, bool autoJoin = true, InvitePolicy? invitePolicy = null)
{
    private readonly Dictionary<string, RoomInfo> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, RoomMember>> _members = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirtyRooms = new(StringComparer.Ordinal);
    private readonly HashSet<(string RoomId, string UserId)> _dirtyMembers = [];
    private readonly HashSet<string> _purgedRooms = new(StringComparer.Ordinal);
    private readonly Dictionary<(string RoomId, string Type, string StateKey), string> _stateWrites = [];
    private readonly List<(MatrixEvent Event, MembershipChange Change)> _membershipChanges = [];

    private readonly CurrentState _state = new();
    private readonly List<MatrixEvent> _refusedInvites = [];
    private readonly List<MatrixEvent> _softFailed = [];

    private readonly Dictionary<string, JobRequest> _jobs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (StateMismatch Example, int Count, bool WasSuspect)> _mismatches = new(StringComparer.Ordinal);

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

    /// <summary>
    /// The <c>room_state</c> rows this batch changes: the current state event id per (room, type, state_key), for every
    /// key but the member keys. A member key's current event is its member row's (<c>room_members.event_id</c>, in
    /// <see cref="DirtyMembers"/>): member events are stored once (issue 19).
    /// </summary>
    public IReadOnlyDictionary<(string RoomId, string Type, string StateKey), string> StateWrites => _stateWrites;

    /// <summary>Every membership event applied, with what it meant (for logs and metrics).</summary>
    public IReadOnlyList<(MatrixEvent Event, MembershipChange Change)> MembershipChanges => _membershipChanges;

    /// <summary>Homeserver work the batch calls for, one per dedup key, in dedup-key order.</summary>
    public IEnumerable<JobRequest> Jobs => _jobs.OrderBy(j => j.Key, StringComparer.Ordinal).Select(j => j.Value);

    /// <summary>
    /// Per room, the state events whose replaces_state did not match what we held (the room is marked suspect), in
    /// the order the rooms first mismatched.
    /// </summary>
    public IEnumerable<RoomStateMismatches> Mismatches =>
        _mismatches.Select(m => new RoomStateMismatches(m.Key, m.Value.Count, m.Value.Example, m.Value.WasSuspect));

    /// <summary>Soft-failed events (<see cref="MatrixEvent.IsSoftFailed"/>): recorded as processed, never applied.</summary>
    public IReadOnlyList<MatrixEvent> SoftFailed => _softFailed;

    /// <summary>Invites of the bot not followed by a join: the inviter is not allowed (<see cref="InvitePolicy"/>).</summary>
    public IReadOnlyList<MatrixEvent> RefusedInvites => _refusedInvites;

    /// <summary>The sender of a current state event (for <c>room_state.sender</c>), if known.</summary>
    public string? SenderOf(string eventId) => _state.SenderOf(eventId);

    public RoomInfo? Room(string roomId) => _rooms.GetValueOrDefault(roomId);

    public RoomMember? Member(string roomId, string userId) =>
        _members.TryGetValue(roomId, out var byUser) ? byUser.GetValueOrDefault(userId) : null;

    /// <summary>Seeds the batch with a stored room row.</summary>
    public void LoadRoom(RoomInfo room)
    {
        RememberLoaded(room);
        _rooms[room.RoomId] = room;
    }

    /// <summary>
    /// Seeds the batch with a stored member row. The row is also what we hold for its member key (its event id and
    /// sender): <c>room_state</c> holds no member keys, so the stale-event rule and a redaction of the row's event
    /// compare with the member row.
    /// </summary>
    public void LoadMember(RoomMember member)
    {
        RememberLoaded(member);
        MembersOf(member.RoomId)[member.UserId] = member;
        if (member.EventId.Length > 0)
        {
            _state.Set((member.RoomId, EventTypes.Member, member.UserId), member.EventId, member.Sender.Length > 0 ? member.Sender : null);
        }
    }

    /// <summary>
    /// Seeds the batch with a stored <c>room_state</c> row: the id of the current event for a key, and its sender if
    /// stored. Member keys come with their member rows instead (<see cref="LoadMember"/>).
    /// </summary>
    public void LoadState(string roomId, string type, string stateKey, string eventId, string? sender = null) =>
        _state.Set((roomId, type, stateKey), eventId, sender);

    /// <summary>
    /// Applies one new (never before processed) event. A soft-failed event changes nothing (it never became current
    /// state on the homeserver); a state event that does not follow what we hold for its key changes nothing either
    /// and makes the room suspect (<see cref="Follows"/>): a resync decides.
    /// </summary>
    public void Apply(MatrixEvent e)
    {
        EnsureRoom(e.RoomId);
        _appliedInBatch.Add(e.EventId);
        if (e.IsSoftFailed)
        {
            _softFailed.Add(e);
            return;
        }

        if (e.Type == EventTypes.Redaction && e.Redacts is { } redacts)
        {
            ApplyRedaction(e, redacts);
        }

        if (!e.IsState)
        {
            return;
        }

        var key = (e.RoomId, e.Type, e.StateKey!);
        if (!Follows(key, e))
        {
            return;
        }

        _state.Set(key, e.EventId, string.IsNullOrEmpty(e.Sender) ? null : e.Sender);
        if (e.Type == EventTypes.Member)
        {
            ApplyMember(e); // the member row holds the key's current event: no room_state row
        }
        else
        {
            _stateWrites[key] = e.EventId;
            if (e.StateKey!.Length == 0 && RoomInfoProjector.Handles(e.Type))
            {
                SetRoom(RoomInfoProjector.Apply(_rooms[e.RoomId], e, Now));
            }
        }

        ApplyPendingRedaction(e);
    }

    /// <summary>
    /// The stale-event rule (issue 16; the spec's reconciliation hint, facts 4.3 and 9). A new state event follows what
    /// we hold for its key when we hold nothing for the key (first sight) or when its <c>unsigned.replaces_state</c>
    /// names the event we hold. Otherwise (another event named, or none while we hold one: the first event of a key
    /// carries no replaces_state, so a backlog older than a resync's snapshot looks exactly like this) we cannot tell
    /// a stale event from one that skipped something we missed. We do not guess: the event is not applied, the room is
    /// marked suspect and a resync is queued, and the resync's snapshot (the homeserver's current state) decides. On
    /// the normal path every state event follows, and the check costs a dictionary look-up.
    /// </summary>
    private bool Follows((string RoomId, string Type, string StateKey) key, MatrixEvent e)
    {
        if (_state.EventIdOf(key) is not { } held || held == e.EventId)
        {
            return true;
        }

        string? replaces = e.ReplacesState;
        if (replaces == held)
        {
            return true;
        }

        // Once a room is suspect in this batch, a further mismatch only counts: the room row, the resync job and the
        // example are already there (a stale room sends 53 of these in every transaction of the shared benchmark).
        ref var seen = ref CollectionsMarshal.GetValueRefOrAddDefault(_mismatches, key.RoomId, out bool exists);
        if (exists)
        {
            seen.Count++;
            return false;
        }

        var room = _rooms[key.RoomId];
        seen = (new StateMismatch(key.RoomId, key.Type, key.StateKey, held, replaces, e.EventId), 1, room.Suspect);
        if (!room.Suspect)
        {
            SetRoom(room with { Suspect = true, UpdatedAt = Now });
        }

        // Queued even for a room already suspect: its earlier resync may have given up. The open job's dedup key
        // folds this one into it when it is still queued, and makes a running one fetch again.
        AddJob(JobKinds.Resync, key.RoomId, JobReasons.ReplacesState);
        return false;
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

        _state.RemoveMembers(roomId);
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
