using System.Text.Json;

namespace AppService.Simulator.Workload;

/// <summary>
/// What the homeserver knows: every room's current state and membership, including history that was never
/// pushed to the application service. Deliberately separate from <c>Oracle.ExpectedProjection</c> (what the
/// service should have stored from the pushed events): a later resync mode serves
/// <c>/rooms/{roomId}/members</c> and <c>/state</c> from this model.
/// </summary>
internal sealed class HomeserverState(string botUserId, string ghostPrefix)
{
    private readonly Dictionary<string, TrueRoom> _rooms = new(StringComparer.Ordinal);

    public string BotUserId { get; } = botUserId;

    public IReadOnlyDictionary<string, TrueRoom> Rooms => _rooms;

    /// <summary>The bot and users in the application service's users namespace (ghosts).</summary>
    public bool IsNamespaced(string userId) =>
        userId == BotUserId || userId.StartsWith(ghostPrefix, StringComparison.Ordinal);

    public TrueRoom AddRoom(string roomId, string roomVersion)
    {
        var room = new TrueRoom(roomId, roomVersion);
        _rooms.Add(roomId, room);
        return room;
    }

    /// <summary>Applies a valid event to the true state (state map, membership, recent messages).</summary>
    public void Apply(SimEvent e)
    {
        if (e.RoomId is null || e.Type is null || !_rooms.TryGetValue(e.RoomId, out var room))
        {
            return;
        }
        if (e.StateKey is null)
        {
            if (e.Type is "m.room.message")
            {
                room.RememberMessage(e);
            }
            return;
        }
        room.State[(e.Type, e.StateKey)] = e;
        if (e.Type == "m.room.member")
        {
            room.SetMembership(e.StateKey, ReadString(e.Content, "membership") ?? "leave", IsNamespaced(e.StateKey));
        }
        else if (e.Type == "m.room.join_rules" && e.StateKey.Length == 0)
        {
            room.JoinRule = ReadString(e.Content, "join_rule") ?? "invite";
        }
    }

    /// <summary>
    /// Synapse's interest rules (facts §4.1), evaluated after the event is applied: sender or member target in
    /// the namespace (the bot included), or a namespaced user currently joined to the room.
    /// </summary>
    public bool IsInteresting(SimEvent e)
    {
        if (IsNamespaced(e.Sender))
        {
            return true;
        }
        if (e.Type == "m.room.member" && e.StateKey is not null && IsNamespaced(e.StateKey))
        {
            return true;
        }
        return e.RoomId is not null && _rooms.TryGetValue(e.RoomId, out var room) && room.NamespacedJoined > 0;
    }

    /// <summary>Rebuilds the true state by replaying a stream prefix (the resync stub and Dendrite's re-sent
    /// state need the state as of a point in the stream).</summary>
    public static HomeserverState Replay(IEnumerable<SimEvent> stream, string botUserId, string ghostPrefix,
        IEnumerable<(string RoomId, string RoomVersion)> rooms)
    {
        var state = new HomeserverState(botUserId, ghostPrefix);
        foreach (var (roomId, version) in rooms)
        {
            state.AddRoom(roomId, version);
        }
        foreach (var e in stream)
        {
            state.Apply(e);
        }
        return state;
    }

    internal static string? ReadString(byte[] json, string property)
    {
        if (json.Length == 0)
        {
            return null;
        }
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var match = reader.ValueTextEquals(property);
            reader.Read();
            if (match)
            {
                return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            reader.Skip();
        }
        return null;
    }
}

/// <summary>One room as the homeserver knows it.</summary>
internal sealed class TrueRoom(string roomId, string roomVersion)
{
    private const int RecentMessageLimit = 64;
    private readonly Dictionary<string, string> _membership = new(StringComparer.Ordinal);
    private readonly List<SimEvent> _recentMessages = [];

    public string RoomId { get; } = roomId;

    public string RoomVersion { get; } = roomVersion;

    public Dictionary<(string Type, string StateKey), SimEvent> State { get; } = [];

    public string JoinRule { get; set; } = "invite";

    public IndexedSet<string> Joined { get; } = new();

    public IndexedSet<string> Invited { get; } = new();

    public IndexedSet<string> Knocking { get; } = new();

    public IndexedSet<string> Banned { get; } = new();

    /// <summary>Joined users that are in the application service's namespace (the bot included).</summary>
    public int NamespacedJoined { get; private set; }

    public IReadOnlyList<SimEvent> RecentMessages => _recentMessages;

    /// <summary>Current membership of a user, or null if the user never had a member event here.</summary>
    public string? MembershipOf(string userId) => _membership.GetValueOrDefault(userId);

    public void SetMembership(string userId, string membership, bool namespaced)
    {
        var old = _membership.GetValueOrDefault(userId);
        if (old == "join" && namespaced)
        {
            NamespacedJoined--;
        }
        SetFor(old, userId, add: false);
        _membership[userId] = membership;
        SetFor(membership, userId, add: true);
        if (membership == "join" && namespaced)
        {
            NamespacedJoined++;
        }
    }

    public void RememberMessage(SimEvent e)
    {
        if (_recentMessages.Count == RecentMessageLimit)
        {
            _recentMessages.RemoveAt(0);
        }
        _recentMessages.Add(e);
    }

    public void ForgetMessage(SimEvent e) => _recentMessages.Remove(e);

    private void SetFor(string? membership, string userId, bool add)
    {
        var set = membership switch
        {
            "join" => Joined,
            "invite" => Invited,
            "knock" => Knocking,
            "ban" => Banned,
            _ => null,
        };
        if (set is null)
        {
            return;
        }
        if (add)
        {
            set.Add(userId);
        }
        else
        {
            set.Remove(userId);
        }
    }
}
