using AppService.Matrix;

namespace AppService.Projections;

/// <summary>
/// The projection state one transaction touches, loaded from the database, then changed event by event in
/// transaction order. No I/O: the caller loads it, applies the new events and writes back <see cref="DirtyRooms"/>,
/// <see cref="DirtyMembers"/>, <see cref="StateWrites"/> and <see cref="PurgedRooms"/>.
/// </summary>
public sealed class ProjectionBatch(string botUserId, DateTimeOffset now)
{
    private readonly Dictionary<string, RoomInfo> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, RoomMember>> _members = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirtyRooms = new(StringComparer.Ordinal);
    private readonly HashSet<(string RoomId, string UserId)> _dirtyMembers = [];
    private readonly HashSet<string> _purgedRooms = new(StringComparer.Ordinal);
    private readonly Dictionary<(string RoomId, string Type, string StateKey), string> _stateWrites = [];
    private readonly List<(MatrixEvent Event, MembershipChange Change)> _membershipChanges = [];

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

    public bool HasRoom(string roomId) => _rooms.ContainsKey(roomId);

    public RoomInfo? Room(string roomId) => _rooms.GetValueOrDefault(roomId);

    public RoomMember? Member(string roomId, string userId) =>
        _members.TryGetValue(roomId, out var byUser) ? byUser.GetValueOrDefault(userId) : null;

    /// <summary>Seeds the batch with a stored room row.</summary>
    public void LoadRoom(RoomInfo room) => _rooms[room.RoomId] = room;

    /// <summary>Seeds the batch with a stored member row.</summary>
    public void LoadMember(RoomMember member) => MembersOf(member.RoomId)[member.UserId] = member;

    /// <summary>Applies one new (never before processed) event.</summary>
    public void Apply(MatrixEvent e)
    {
        var room = EnsureRoom(e.RoomId);
        if (!e.IsState)
        {
            return;
        }

        string stateKey = e.StateKey!;
        _stateWrites[(e.RoomId, e.Type, stateKey)] = e.EventId;

        if (e.Type == EventTypes.Member)
        {
            ApplyMember(room, e);
        }
        else if (stateKey.Length == 0 && RoomInfoProjector.Handles(e.Type))
        {
            SetRoom(RoomInfoProjector.Apply(room, e, Now));
        }
    }

    private void ApplyMember(RoomInfo room, MatrixEvent e)
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

        SetRoom(room with { BotMembership = next.Membership, UpdatedAt = Now });
        if (next.Membership is Memberships.Leave or Memberships.Ban)
        {
            Purge(e.RoomId);
        }
    }

    /// <summary>The bot is out of the room: its member data goes, RoomInfo stays (with bot_membership).</summary>
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
    }

    private RoomInfo EnsureRoom(string roomId)
    {
        if (_rooms.TryGetValue(roomId, out var room))
        {
            return room;
        }

        room = new RoomInfo(roomId) { UpdatedAt = Now };
        SetRoom(room);
        return room;
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
