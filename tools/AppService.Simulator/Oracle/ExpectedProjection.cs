using System.Text.Json;
using AppService.Simulator.Workload;

namespace AppService.Simulator.Oracle;

/// <summary>One expected row of <c>GET /admin/v1/rooms/{roomId}/members</c>.</summary>
internal sealed record MemberRow(string UserId, string Membership, string? Displayname, string? AvatarUrl, string EventId);

/// <summary>One expected room (<c>GET /admin/v1/rooms/{roomId}</c>) and its member rows.</summary>
internal sealed class RoomRow(string roomId)
{
    public string RoomId { get; } = roomId;

    public string? Name { get; set; }

    public string? Topic { get; set; }

    public string? CanonicalAlias { get; set; }

    public string? AvatarUrl { get; set; }

    public string? JoinRule { get; set; }

    public string? HistoryVisibility { get; set; }

    public string? Encryption { get; set; }

    public string? RoomVersion { get; set; }

    public string? Creator { get; set; }

    public string? RoomType { get; set; }

    public string? TombstoneSuccessor { get; set; }

    public string? BotMembership { get; set; }

    /// <summary>
    /// A pushed state event did not follow what the service held for its key (the stale-event rule): the service
    /// marked the room suspect and queued a resync, which nothing clears while no homeserver answers it.
    /// </summary>
    public bool Suspect { get; set; }

    public Dictionary<string, MemberRow> Members { get; } = new(StringComparer.Ordinal);

    /// <summary>The current state event (id, sender) per (type, state_key): what a redaction can hit.</summary>
    public Dictionary<(string Type, string StateKey), (string EventId, string Sender)> State { get; } = [];

    /// <summary>The room's power levels as far as the redaction rule reads them; null while none was seen.</summary>
    public (Dictionary<string, long> Users, long UsersDefault, long Redact)? PowerLevels { get; set; }

    /// <summary>Room v12: the create event's sender and additional_creators.</summary>
    public List<string> Creators { get; } = [];

    public int JoinedMemberCount => Members.Values.Count(m => m.Membership == "join");

    public int InvitedMemberCount => Members.Values.Count(m => m.Membership == "invite");
}

internal enum ApplyOutcome
{
    Applied,
    Duplicate,
    Rejected,
    DuplicateRejected,
}

/// <summary>
/// What the service should have stored after the pushed events, in the order they were acknowledged. The
/// projection rules, exactly:
/// <list type="bullet">
/// <item>every event_id is applied at most once, whatever transaction it arrives in;</item>
/// <item>poison events (<see cref="PoisonRules"/>) are counted as rejected and change nothing;</item>
/// <item>members keyed by (room_id, state_key); leave/ban rows stay; the bot's own leave or ban deletes every
/// member row of the room (its own too), later member events create rows again;</item>
/// <item>bot_membership = membership of the bot's latest member event;</item>
/// <item>room info from state events with state_key "": empty, null or absent clears the field;</item>
/// <item>display values are stored with U+0000 removed and lone surrogates replaced by U+FFFD;</item>
/// <item>the bot's invite also applies its <c>invite_room_state</c> entries with state_key "" to room info, by the
/// same rules (entries whose projected fields have the wrong type are skipped);</item>
/// <item>a room row exists once the room had an accepted event;</item>
/// <item>a redaction of current state applies only if the redacter is on the target sender's server or has the
/// redact power level (v12 creators always; v1/v2 by event-id domains); encryption is never cleared;</item>
/// <item>the stale-event rule (docs/state-rules.md): a state event changes the projection only if nothing is held for
/// its key or its <c>unsigned.replaces_state</c> names the event held; otherwise it is processed (counted, recorded
/// under its txnId) but not applied, and the room is suspect. A homeserver sends such events for real: what happened
/// while nobody in the namespace was in the room (the bot kicked, banned or gone) was never pushed, so the next
/// pushed event of a key names an event the service never saw.</item>
/// </list>
/// Deliberately not the homeserver's true state (<see cref="HomeserverState"/>): pre-bot history is unknown here.
/// </summary>
internal sealed class ExpectedProjection(string botUserId)
{
    private readonly Dictionary<string, RoomRow> _rooms = new(StringComparer.Ordinal);
    private readonly HashSet<string> _applied = new(StringComparer.Ordinal);
    private readonly HashSet<string> _rejected = new(StringComparer.Ordinal);

    public string BotUserId { get; } = botUserId;

    public IReadOnlyDictionary<string, RoomRow> Rooms => _rooms;

    /// <summary>Distinct accepted event ids.</summary>
    public int AppliedCount => _applied.Count;

    /// <summary>Distinct rejected event ids.</summary>
    public int RejectedCount => _rejected.Count;

    /// <summary>Accepted state events that did not follow what was held for their key: processed, not applied.</summary>
    public int NotFollowingCount { get; private set; }

    /// <summary>Rejected deliveries of events without an event_id (they cannot be de-duplicated).</summary>
    public int RejectedWithoutIdDeliveries { get; private set; }

    public bool WasApplied(string eventId) => _applied.Contains(eventId);

    public ApplyOutcome Apply(SimEvent e)
    {
        // An id the service cannot key on (U+0000, lone surrogate, over 255 bytes) cannot be de-duplicated either.
        if (JsonStrings.IsUsableId(e.EventId) && (_applied.Contains(e.EventId!) || _rejected.Contains(e.EventId!)))
        {
            return _applied.Contains(e.EventId!) ? ApplyOutcome.Duplicate : ApplyOutcome.DuplicateRejected;
        }
        if (PoisonRules.Classify(e) is not null)
        {
            if (!JsonStrings.IsUsableId(e.EventId))
            {
                RejectedWithoutIdDeliveries++;
            }
            else
            {
                _rejected.Add(e.EventId!);
            }
            return ApplyOutcome.Rejected;
        }
        _applied.Add(e.EventId!);
        if (!_rooms.TryGetValue(e.RoomId!, out var room))
        {
            room = new RoomRow(e.RoomId!);
            _rooms.Add(e.RoomId!, room);
        }
        if (e.Type == "m.room.redaction" && e.Redacts is { } redacts)
        {
            ApplyRedaction(room, e, redacts);
        }
        if (e.StateKey is null || !Follows(room, e))
        {
            return ApplyOutcome.Applied;
        }
        using var doc = JsonDocument.Parse(e.Content, JsonStrings.Deep);
        var content = doc.RootElement;
        room.State[(e.Type!, e.StateKey)] = (e.EventId!, e.Sender);
        if (e.Type == "m.room.power_levels" && e.StateKey.Length == 0)
        {
            room.PowerLevels = ReadPowerLevels(content);
        }
        if (e.Type == "m.room.create" && e.StateKey.Length == 0)
        {
            room.Creators.Clear();
            room.Creators.Add(e.Sender);
            if (content.TryGetProperty("additional_creators", out var extra) && extra.ValueKind == JsonValueKind.Array)
            {
                room.Creators.AddRange(extra.EnumerateArray().Where(c => c.ValueKind == JsonValueKind.String).Select(c => c.GetString()!));
            }
        }
        if (e.Type == "m.room.member")
        {
            ApplyMember(room, e, content);
        }
        else if (e.StateKey.Length == 0)
        {
            ApplyRoomInfo(room, e, content);
        }
        return ApplyOutcome.Applied;
    }

    /// <summary>
    /// The service's stale-event rule: a state event follows what is held for its key when nothing is held (first
    /// sight; the bot's leave forgets every member key) or its <c>replaces_state</c> names the held event. One that
    /// does not follow names another event, or none while one is held: the service cannot tell it from a stale one,
    /// so it changes nothing (not even what a later redaction or <c>replaces_state</c> is compared with) and the room
    /// becomes suspect until a resync, which needs a homeserver.
    /// </summary>
    private bool Follows(RoomRow room, SimEvent e)
    {
        if (!room.State.TryGetValue((e.Type!, e.StateKey!), out var held) || held.EventId == e.ReplacesState)
        {
            return true;
        }
        room.Suspect = true;
        NotFollowingCount++;
        return false;
    }

    /// <summary>
    /// A redaction of the current state event of a key, applied only as the homeserver applies it (the service's
    /// rule 1): the redacter is on the target sender's server, or has the redact power level (v12 creators: any).
    /// Room v1/v2 compare the event ids' domains instead. What it clears: name, topic, alias, avatar, tombstone; a
    /// member's profile; never encryption (rule 2), join rules, history visibility or create.
    /// </summary>
    private static void ApplyRedaction(RoomRow room, SimEvent redaction, string targetId)
    {
        var hit = room.State.FirstOrDefault(s => s.Value.EventId == targetId);
        if (hit.Value.EventId is null || !MayRedact(room, redaction, targetId, hit.Value.Sender))
        {
            return;
        }
        var (type, stateKey) = hit.Key;
        if (type == "m.room.member")
        {
            if (room.Members.TryGetValue(stateKey, out var member) && member.EventId == targetId)
            {
                room.Members[stateKey] = member with { Displayname = null, AvatarUrl = null };
            }
            return;
        }
        if (stateKey.Length != 0)
        {
            return;
        }
        switch (type)
        {
            case "m.room.name": room.Name = null; break;
            case "m.room.topic": room.Topic = null; break;
            case "m.room.canonical_alias": room.CanonicalAlias = null; break;
            case "m.room.avatar": room.AvatarUrl = null; break;
            case "m.room.tombstone": room.TombstoneSuccessor = null; break;
        }
    }

    private static bool MayRedact(RoomRow room, SimEvent redaction, string targetId, string targetSender)
    {
        string version = room.RoomVersion ?? "";
        if (version == "12" && room.Creators.Contains(redaction.Sender, StringComparer.Ordinal))
        {
            return true;
        }
        bool sameServer = version is "1" or "2"
            ? Domain(redaction.EventId!) is { } d && d == Domain(targetId)
            : Domain(redaction.Sender) is { } ds && ds == Domain(targetSender);
        if (sameServer)
        {
            return true;
        }
        if (room.PowerLevels is not { } levels)
        {
            return false; // the service cannot decide: it changes nothing (and resyncs)
        }
        long power = levels.Users.TryGetValue(redaction.Sender, out long p) ? p : levels.UsersDefault;
        return power >= levels.Redact;
    }

    private static string? Domain(string id)
    {
        int colon = id.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 ? id[(colon + 1)..] : null;
    }

    private static (Dictionary<string, long> Users, long UsersDefault, long Redact) ReadPowerLevels(JsonElement content)
    {
        static long? Level(JsonElement v) => v.ValueKind switch
        {
            JsonValueKind.Number when v.TryGetInt64(out long n) => n,
            JsonValueKind.String when long.TryParse(v.GetString(), out long n) => n,
            _ => null,
        };
        var users = new Dictionary<string, long>(StringComparer.Ordinal);
        if (content.TryGetProperty("users", out var map) && map.ValueKind == JsonValueKind.Object)
        {
            foreach (var user in map.EnumerateObject())
            {
                if (Level(user.Value) is { } level)
                {
                    users[user.Name] = level;
                }
            }
        }
        long usersDefault = content.TryGetProperty("users_default", out var ud) && Level(ud) is { } u ? u : 0;
        long redact = content.TryGetProperty("redact", out var r) && Level(r) is { } rl ? rl : 50;
        return (users, usersDefault, redact);
    }

    private void ApplyMember(RoomRow room, SimEvent e, JsonElement content)
    {
        var userId = e.StateKey!;
        var membership = content.GetProperty("membership").GetString()!;
        if (userId == BotUserId)
        {
            room.BotMembership = membership;
            if (membership == "invite" && e.InviteRoomState is { } stripped)
            {
                ApplyStrippedState(room, stripped);
            }

            if (membership is "leave" or "ban")
            {
                room.Members.Clear();
                foreach (var key in room.State.Keys.Where(k => k.Type == "m.room.member").ToList())
                {
                    room.State.Remove(key);
                }
                return;
            }
        }
        room.Members[userId] = new MemberRow(userId, membership, RawStr(content, "displayname"), RawStr(content, "avatar_url"), e.EventId!);
    }

    private static void ApplyStrippedState(RoomRow room, byte[] strippedState)
    {
        using var doc = JsonDocument.Parse(strippedState);
        foreach (var entry in doc.RootElement.EnumerateArray())
        {
            if (entry.ValueKind == JsonValueKind.Object
                && entry.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
                && entry.TryGetProperty("state_key", out var stateKey) && stateKey.ValueKind == JsonValueKind.String && stateKey.GetString() == ""
                && entry.TryGetProperty("content", out var content) && PoisonRules.ProjectedFieldsReadable(type.GetString()!, content))
            {
                string sender = entry.TryGetProperty("sender", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "";
                ApplyRoomInfo(room, type.GetString()!, sender, content);
            }
        }
    }

    private static void ApplyRoomInfo(RoomRow room, SimEvent e, JsonElement content) => ApplyRoomInfo(room, e.Type!, e.Sender, content);

    private static void ApplyRoomInfo(RoomRow room, string type, string sender, JsonElement content)
    {
        switch (type)
        {
            case "m.room.create":
                var version = Str(content, "room_version") ?? "1";
                room.RoomVersion = version;
                room.Creator = version is "1" or "2" or "3" or "4" or "5" or "6" or "7" or "8" or "9" or "10"
                    ? Str(content, "creator")
                    : sender;
                room.RoomType = Str(content, "type");
                break;
            case "m.room.name": room.Name = Str(content, "name"); break;
            case "m.room.topic": room.Topic = Str(content, "topic"); break;
            case "m.room.canonical_alias": room.CanonicalAlias = Str(content, "alias"); break;
            case "m.room.avatar": room.AvatarUrl = Str(content, "url"); break;
            case "m.room.join_rules": room.JoinRule = Str(content, "join_rule"); break;
            case "m.room.history_visibility": room.HistoryVisibility = Str(content, "history_visibility"); break;
            // Encryption can never be turned off: an event without an algorithm keeps the room's (the service's rule 2).
            case "m.room.encryption": room.Encryption = Str(content, "algorithm") ?? room.Encryption; break;
            case "m.room.tombstone": room.TombstoneSuccessor = Str(content, "replacement_room"); break;
        }
    }

    /// <summary>A string field, sanitised (<see cref="JsonStrings.Sanitize"/>); empty, null or absent all mean "none".</summary>
    private static string? Str(JsonElement content, string property) =>
        content.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
        && JsonStrings.Sanitize(JsonStrings.Decode(value)) is { Length: > 0 } s
            ? s
            : null;

    /// <summary>A member field: the string as sent (even empty) but sanitised, null when null or absent.</summary>
    private static string? RawStr(JsonElement content, string property) =>
        content.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? JsonStrings.Sanitize(JsonStrings.Decode(value)) : null;

    /// <summary>Expected <c>GET /admin/v1/users/{userId}/rooms</c>: every stored row of the user.</summary>
    public Dictionary<string, List<(string RoomId, string Membership)>> RoomsByUser()
    {
        var byUser = new Dictionary<string, List<(string, string)>>(StringComparer.Ordinal);
        foreach (var room in _rooms.Values)
        {
            foreach (var member in room.Members.Values)
            {
                if (!byUser.TryGetValue(member.UserId, out var list))
                {
                    byUser[member.UserId] = list = [];
                }
                list.Add((room.RoomId, member.Membership));
            }
        }
        return byUser;
    }
}
