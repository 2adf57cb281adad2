using System.Security.Cryptography;
using System.Text;
using AppService.Simulator.Sending;
using AppService.Simulator.Workload;

namespace AppService.Simulator.Homeserver;

/// <summary>
/// The homeserver of a homeserver-mode run, live: its event stream, every room's current state (which the
/// client-server API answers from at the moment a call arrives, pushed or not), and the queue of events still to be
/// pushed to the application service. Everything is guarded by <see cref="Gate"/>: the generator, the pusher and the
/// Kestrel handlers of the service's calls all change or read it.
/// </summary>
internal sealed class HsWorld
{
    private readonly List<SimEvent> _stream = [];
    private readonly Dictionary<string, HsRoom> _rooms = new(StringComparer.Ordinal);
    private readonly List<SimEvent> _pushQueue = [];
    private readonly Dictionary<string, int> _injected = new(StringComparer.Ordinal);
    private readonly long _baseTs = 1_760_000_000_000;

    public HsWorld(string runTag, string botUserId, HomeserverMode mode)
    {
        RunTag = runTag;
        BotUserId = botUserId;
        ServerName = MatrixIds.Domain(botUserId) ?? "localhost";
        Mode = mode;
    }

    public object Gate { get; } = new();

    /// <summary>Makes this run's ids unique on a service that saw other runs (seed and mode).</summary>
    public string RunTag { get; }

    public string BotUserId { get; }

    public string ServerName { get; }

    public HomeserverMode Mode { get; }

    public IReadOnlyList<SimEvent> Stream => _stream;

    public IReadOnlyDictionary<string, HsRoom> Rooms => _rooms;

    /// <summary>What was injected (soft-failed events, state resets, kicks of the bot, ...), by name.</summary>
    public IReadOnlyDictionary<string, int> Injected => _injected;

    /// <summary>Snapshot calls (<c>/members</c>, <c>/state</c>, <c>/joined_members</c>) answered while events of the
    /// room were still waiting to be pushed: the snapshot ran ahead of the push.</summary>
    public int SnapshotsAheadOfPush { get; private set; }

    /// <summary>Events queued for the application service or in a transaction not acknowledged yet.</summary>
    public int PendingPushes
    {
        get
        {
            lock (Gate)
            {
                return _pushQueue.Count + _inFlight.Count;
            }
        }
    }

    private readonly List<SimEvent> _inFlight = [];

    public void Count(string what, int n = 1) => _injected[what] = _injected.GetValueOrDefault(what) + n;

    public HsRoom AddRoom(int number, string version, string creator)
    {
        var room = new HsRoom($"!hs{RunTag}r{number}:{ServerName}", version, creator, BotUserId);
        _rooms.Add(room.RoomId, room);
        return room;
    }

    /// <summary>
    /// Persists an event: appends it to the stream; unless soft-failed, applies it to the current state; queues it
    /// for the application service when the homeserver's interest rules say so (the bot is its sender or target, or
    /// the bot is joined once it is applied). Dendrite pushes neither redactions nor soft-failed events.
    /// </summary>
    public SimEvent Append(HsRoom room, string type, string? stateKey, string sender, byte[] content,
        bool softFailed = false, string? redacts = null, byte[]? inviteRoomState = null)
    {
        var current = stateKey is null ? null : room.State.GetValueOrDefault((type, stateKey));
        var index = _stream.Count;
        var e = new SimEvent
        {
            Index = index,
            EventId = NewEventId(index),
            RoomId = room.RoomId,
            Type = type,
            Sender = sender,
            StateKey = stateKey,
            OriginServerTs = _baseTs + index * 7L,
            Content = content,
            Redacts = redacts,
            PrevContent = current?.Content,
            PrevSender = current?.Sender,
            ReplacesState = current?.EventId,
            InviteRoomState = inviteRoomState,
            SoftFailed = softFailed,
        };
        _stream.Add(e);
        if (stateKey is not null)
        {
            room.Log.Add(((type, stateKey), $"#{index} {e.EventId} {Short(content)}{(e.ReplacesState is null ? " (first)" : "")}{(softFailed ? " soft-failed" : "")}"));
        }
        var redactedKey = softFailed ? null : Apply(room, e);
        var interesting = sender == BotUserId || stateKey == BotUserId || room.BotMembership == "join";
        e.Pushed = interesting
                   && !(Mode == HomeserverMode.Dendrite && (softFailed || type == "m.room.redaction"));
        if (e.Pushed)
        {
            _pushQueue.Add(e);
        }
        if (type == "m.room.member" && stateKey == BotUserId)
        {
            room.Log.Add((("bot", ""), $"#{index} bot {HsRoom.MembershipOf(e)} {e.EventId} replaces {e.ReplacesState}{(e.Pushed ? "" : " (not pushed)")}"));
        }
        if (!e.Pushed && stateKey is not null)
        {
            room.Log[^1] = (room.Log[^1].Key, room.Log[^1].Line + " (not pushed)");
        }
        if (redactedKey is { } key && !e.Pushed)
        {
            room.HiddenSince[key] = index; // the service can only learn this redaction from a snapshot
        }
        if (e.Pushed && Mode == HomeserverMode.Dendrite && type == "m.room.member" && stateKey == BotUserId
            && HsRoom.MembershipOf(e) == "join")
        {
            // Dendrite sends the room's current state along with the bot's join (seen before or never pushed).
            _pushQueue.AddRange(room.State.Values.Where(s => s.EventId != e.EventId).OrderBy(s => s.Index));
            Count("dendrite state re-sent with the bot's join");
        }
        return e;
    }

    /// <summary>Applies a persisted event to the current state; returns the key of the state it redacted, if any.</summary>
    private (string, string)? Apply(HsRoom room, SimEvent e)
    {
        if (e.Type == "m.room.redaction" && e.Redacts is { } targetId)
        {
            var hit = room.State.FirstOrDefault(s => s.Value.EventId == targetId);
            if (hit.Value is not { } target || !HomeserverState.MayRedact(room.AsTrueRoom(), e, target))
            {
                return null;
            }
            room.Redacted.Add(targetId);
            room.Log.Add((hit.Key, $"#{e.Index} redacted by {e.EventId}"));
            room.State[hit.Key] = target.WithContent(HomeserverState.RedactedContent(target, room.Version));
            room.HiddenSince.Remove(hit.Key);
            return hit.Key;
        }
        if (e.StateKey is null)
        {
            return null;
        }
        var key = (e.Type!, e.StateKey);
        room.State[key] = e;
        room.HiddenSince.Remove(key);
        if (!room.History.TryGetValue(key, out var history))
        {
            room.History[key] = history = [];
        }
        history.Add(e);
        if (e.Type == "m.room.member" && e.StateKey == BotUserId)
        {
            var membership = HsRoom.MembershipOf(e);
            if (membership == "join")
            {
                room.BotLastJoinIndex = e.Index;
                room.StateAtBotLeave = null;
            }
            else if (membership == "leave")
            {
                room.StateAtBotLeave = new Dictionary<(string, string), SimEvent>(room.State);
            }
            else
            {
                room.StateAtBotLeave = null;
            }
        }
        return null;
    }

    /// <summary>
    /// A state reset: the key's current event becomes an older one of its history, with no event in the stream
    /// (as when state resolution picks another branch). The service can only see it in a snapshot.
    /// </summary>
    public void ResetState(HsRoom room, (string Type, string StateKey) key, SimEvent older)
    {
        room.Log.Add((key, $"#{_stream.Count} reset to {older.EventId}"));
        room.State[key] = room.Redacted.Contains(older.EventId!)
            ? older.WithContent(HomeserverState.RedactedContent(older, room.Version))
            : older;
        room.HiddenSince[key] = _stream.Count;
        Count("state resets");
    }

    /// <summary>Up to <paramref name="max"/> events from the head of the push queue (stream order), removed from it.</summary>
    public List<SimEvent> TakeForPush(int max)
    {
        lock (Gate)
        {
            var n = Math.Min(max, _pushQueue.Count);
            var batch = _pushQueue.GetRange(0, n);
            _pushQueue.RemoveRange(0, n);
            _inFlight.AddRange(batch);
            return batch;
        }
    }

    /// <summary>The transaction of events taken by <see cref="TakeForPush"/> is done.</summary>
    public void Acknowledged(List<SimEvent> events)
    {
        lock (Gate)
        {
            _inFlight.RemoveAll(events.Contains);
        }
    }

    /// <summary>Notes a snapshot call; counts it when events of the room are still waiting to be pushed.</summary>
    public void NoteSnapshot(string roomId)
    {
        if (_pushQueue.Any(e => e.RoomId == roomId) || _inFlight.Any(e => e.RoomId == roomId))
        {
            SnapshotsAheadOfPush++;
        }
    }

    /// <summary><c>POST /rooms/{roomId}/join</c> as the bot: an invited bot joins (the event is persisted and
    /// pushed like any other); a joined bot stays joined; otherwise 403, as the room's join rules would say.</summary>
    public (int Status, byte[] Body) Join(string roomId)
    {
        lock (Gate)
        {
            if (!_rooms.TryGetValue(roomId, out var room))
            {
                return (404, Error("M_NOT_FOUND", "Unknown room"));
            }
            switch (room.BotMembership)
            {
                case "join":
                    break;
                case "invite":
                    Append(room, "m.room.member", BotUserId, BotUserId, Json.Object(("membership", "join"), ("displayname", "Bridge bot")));
                    Count("bot joins through POST /join");
                    break;
                default:
                    Count("POST /join refused (bot not invited)");
                    return (403, Error("M_FORBIDDEN", "You are not invited to this room."));
            }
            return (200, Json.Object(("room_id", roomId)));
        }
    }

    /// <summary>
    /// <c>/members</c>, <c>/state</c> or <c>/joined_members</c> as the bot, from the state at this moment (events
    /// persisted but not pushed yet included). As Synapse: a bot that left gets the state as of its leave; a bot
    /// that is invited, banned or never joined gets 403.
    /// </summary>
    public (int Status, byte[] Body) Snapshot(string roomId, string endpoint)
    {
        lock (Gate)
        {
            if (!_rooms.TryGetValue(roomId, out var room))
            {
                return (403, Error("M_FORBIDDEN", "User not in room"));
            }
            var state = room.BotMembership switch
            {
                "join" => room.State,
                "leave" => room.StateAtBotLeave,
                _ => null,
            };
            if (state is null)
            {
                Count($"GET /{endpoint} refused (bot not in the room)");
                return (403, Error("M_FORBIDDEN", $"User {BotUserId} not in room {roomId}"));
            }
            NoteSnapshot(roomId);
            var events = state.Values.OrderBy(e => e.Index).ToList();
            return endpoint switch
            {
                "members" => (200, Json.Object(("chunk", new RawJson(Json.Array(
                    events.Where(e => e.Type == "m.room.member").Select(e => EventSerializer.Serialize(e))))))),
                "state" => (200, Json.Array(events.Select(e => EventSerializer.Serialize(e)))),
                _ => (200, Json.Object(("joined", events
                    .Where(e => e.Type == "m.room.member" && HsRoom.MembershipOf(e) == "join")
                    .Select(e => (e.StateKey!, (object?)new (string, object?)[]
                    {
                        ("display_name", HomeserverState.ReadString(e.Content, "displayname")),
                        ("avatar_url", HomeserverState.ReadString(e.Content, "avatar_url")),
                    }))
                    .ToArray()))),
            };
        }
    }

    /// <summary>The rooms the bot is joined to now (<c>GET /joined_rooms</c>).</summary>
    public IReadOnlyList<string> JoinedRooms()
    {
        lock (Gate)
        {
            return _rooms.Values.Where(r => r.BotMembership == "join").Select(r => r.RoomId).ToList();
        }
    }

    public bool HasRoom(string roomId)
    {
        lock (Gate)
        {
            return _rooms.ContainsKey(roomId);
        }
    }

    private static byte[] Error(string code, string message) => Json.Object(("errcode", code), ("error", message));

    private static string Short(byte[] content)
    {
        var text = Encoding.UTF8.GetString(content);
        return text.Length <= 80 ? text : text[..80] + "...";
    }

    /// <summary>The history of one key of a room (events, resets, redactions, the bot's memberships), for a failure's detail.</summary>
    public string History(string roomId, (string Type, string StateKey) key)
    {
        lock (Gate)
        {
            return _rooms.TryGetValue(roomId, out var room)
                ? string.Join(" | ", room.Log.Where(l => l.Key == key || l.Key.Type == "bot").Select(l => l.Line))
                : "";
        }
    }

    private string NewEventId(int index)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{RunTag}/{index}"));
        return "$" + Convert.ToBase64String(hash).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}

/// <summary>One room of the live homeserver.</summary>
internal sealed class HsRoom(string roomId, string version, string creator, string botUserId)
{
    public string RoomId { get; } = roomId;

    public string Version { get; } = version;

    /// <summary>The user who created the room: power 100, sends kicks, bans, invites and redactions.</summary>
    public string Creator { get; } = creator;

    /// <summary>Current state by (type, state_key).</summary>
    public Dictionary<(string Type, string StateKey), SimEvent> State { get; } = [];

    /// <summary>Every event that was applied to a key, in order (the candidates of a state reset).</summary>
    public Dictionary<(string Type, string StateKey), List<SimEvent>> History { get; } = [];

    /// <summary>Ids of events redacted (a reset back to one of them keeps it redacted).</summary>
    public HashSet<string> Redacted { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Keys whose current value no push carried (a state reset, a redaction the homeserver did not push), with the
    /// stream position where that happened. Cleared by the next event of the key.
    /// </summary>
    public Dictionary<(string Type, string StateKey), int> HiddenSince { get; } = [];

    /// <summary>The state as of the bot's latest leave (what <c>/members</c> and <c>/state</c> answer a departed user).</summary>
    public Dictionary<(string Type, string StateKey), SimEvent>? StateAtBotLeave { get; set; }

    /// <summary>Stream position of the bot's latest join (-1: never joined).</summary>
    public int BotLastJoinIndex { get; set; } = -1;

    public bool BotInvitedOnce { get; set; }

    /// <summary>What happened to each key, in order (for the detail of a failure).</summary>
    public List<((string Type, string StateKey) Key, string Line)> Log { get; } = [];

    public int Counter { get; set; }

    public string? BotMembership => MembershipOf(botUserId);

    public string? MembershipOf(string userId) => State.TryGetValue(("m.room.member", userId), out var e) ? MembershipOf(e) : null;

    public IEnumerable<string> UsersWith(string membership) =>
        State.Where(s => s.Key.Type == "m.room.member" && MembershipOf(s.Value) == membership).Select(s => s.Key.StateKey);

    public static string? MembershipOf(SimEvent member) => HomeserverState.ReadString(member.Content, "membership");

    /// <summary>The homeserver model's room shape, for its redaction rule (<see cref="HomeserverState.MayRedact"/>).</summary>
    public TrueRoom AsTrueRoom()
    {
        var room = new TrueRoom(RoomId, Version);
        foreach (var (key, e) in State)
        {
            room.State[key] = e;
        }
        return room;
    }
}
