using System.Text.Json;

namespace AppService.Simulator.Workload;

/// <summary>
/// What the homeserver knows: every room's current state and membership, including history that was never
/// pushed to the application service. Deliberately separate from <c>Oracle.ExpectedProjection</c> (what the
/// service should have stored from the pushed events). Homeserver mode (<c>Homeserver/HsWorld</c>) keeps a live
/// model of its own and borrows this one's redaction rule.
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
            else if (e.Type is "m.room.redaction" && e.Redacts is { } redacts)
            {
                ApplyRedaction(room, e, redacts);
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
    /// A redaction of current state, as a homeserver applies it: only if the redacter is on the target sender's
    /// server (room v1/v2: the event ids' servers), has at least the <c>redact</c> power level of the room's
    /// <c>m.room.power_levels</c> (<c>users</c>, <c>users_default</c>, default 50), or is a v12 creator. Then the
    /// current state event is replaced by its redacted form (the content keys the redaction algorithm keeps);
    /// otherwise nothing changes. Redactions of messages do not touch the state.
    /// </summary>
    private static void ApplyRedaction(TrueRoom room, SimEvent redaction, string targetId)
    {
        var hit = room.State.FirstOrDefault(s => s.Value.EventId == targetId);
        if (hit.Value is not { } target || !MayRedact(room, redaction, target))
        {
            return;
        }
        room.State[hit.Key] = target.WithContent(RedactedContent(target, room.RoomVersion));
    }

    public static bool MayRedact(TrueRoom room, SimEvent redaction, SimEvent target)
    {
        if (room.RoomVersion == "12" && room.State.TryGetValue(("m.room.create", ""), out var create)
            && (create.Sender == redaction.Sender || ReadStrings(create.Content, "additional_creators").Contains(redaction.Sender)))
        {
            return true;
        }
        var sameServer = room.RoomVersion is "1" or "2"
            ? MatrixIds.Domain(redaction.EventId!) == MatrixIds.Domain(target.EventId!)
            : MatrixIds.Domain(redaction.Sender) == MatrixIds.Domain(target.Sender);
        if (sameServer)
        {
            return true;
        }
        return room.State.TryGetValue(("m.room.power_levels", ""), out var levels)
               && PowerOf(levels.Content, redaction.Sender) >= ReadLong(levels.Content, "redact", 50);
    }

    /// <summary>The user's level in a power_levels content: <c>users[user]</c>, else <c>users_default</c> (0).</summary>
    internal static long PowerOf(byte[] powerLevels, string userId)
    {
        using var doc = JsonDocument.Parse(powerLevels);
        var root = doc.RootElement;
        if (root.TryGetProperty("users", out var users) && users.ValueKind == JsonValueKind.Object
            && users.TryGetProperty(userId, out var level) && level.ValueKind == JsonValueKind.Number && level.TryGetInt64(out var l))
        {
            return l;
        }
        return ReadLong(powerLevels, "users_default", 0);
    }

    private static long ReadLong(byte[] json, string property, long fallback)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : fallback;
    }

    private static HashSet<string> ReadStrings(byte[] json, string property)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToHashSet(StringComparer.Ordinal)
            : [];
    }

    /// <summary>The content the redaction algorithm keeps for the state types the workload redacts: a member
    /// keeps <c>membership</c> (and, from v9, <c>join_authorised_via_users_server</c>); power levels keep their
    /// levels; name, topic, avatar, alias and encryption keep nothing.</summary>
    internal static byte[] RedactedContent(SimEvent e, string roomVersion)
    {
        using var doc = JsonDocument.Parse(e.Content);
        var keep = e.Type switch
        {
            "m.room.member" => roomVersion is "1" or "2" or "3" or "4" or "5" or "6" or "7" or "8"
                ? new[] { "membership" }
                : ["membership", "join_authorised_via_users_server"],
            "m.room.power_levels" => ["ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default", "invite"],
            "m.room.join_rules" => ["join_rule", "allow"],
            "m.room.history_visibility" => ["history_visibility"],
            "m.room.create" => ["creator", "room_version", "type", "m.federate", "additional_creators", "predecessor"],
            _ => Array.Empty<string>(),
        };
        var props = doc.RootElement.EnumerateObject().Where(p => keep.Contains(p.Name)).Select(p => (p.Name, (object?)new RawJson(System.Text.Encoding.UTF8.GetBytes(p.Value.GetRawText())))).ToArray();
        return props.Length == 0 ? Json.EmptyObject : Json.Object(props);
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
