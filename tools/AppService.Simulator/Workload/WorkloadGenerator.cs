namespace AppService.Simulator.Workload;

/// <summary>
/// Generates a seeded, realistic homeserver stream: rooms of several versions created with their state, users
/// joining, leaving, being invited, kicked, banned and unbanned, knocking, changing profiles, chatting, editing,
/// reacting and redacting; the bot invited (and joined by the homeserver), kicked, banned and re-invited. Each
/// event is marked pushed or not with Synapse's interest rules, so history from before the bot's invite stays
/// on the homeserver, as it does in reality.
/// </summary>
internal sealed class WorkloadGenerator
{
    private const string Megolm = "m.megolm.v1.aes-sha2";
    private const int BigEventBodyChars = 60_000;

    /// <summary>The second server some users are on (the bot, ghosts and most users are on the bot's).</summary>
    public const string RemoteServer = "remote.example";

    private static readonly string[] Words =
    [
        "matrix", "room", "bridge", "deploy", "lunch", "ticket", "merge", "release", "coffee", "review", "ship",
        "bug", "fix", "later", "tomorrow", "yes", "no", "maybe", "thanks", "ok", "see", "docs", "build", "green",
        "red", "café", "naïve", "Zoë", "日本語", "🙂", "🚀", "\"quoted\"", "back\\slash", "<b>html</b>", "tab\there",
    ];

    private static readonly string[] Names =
    [
        "Alice", "Bob", "Carol", "Dave", "Eve", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Niaj",
        "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Zoë", "李雷", "Ольга", "Ahmed 🚀",
    ];

    private static readonly string[] HistoryVisibilities = ["shared", "joined", "invited", "world_readable"];
    private static readonly string[] JoinRules = ["public", "invite", "knock", "restricted"];
    private static readonly string[] ReactionKeys = ["👍", "🎉", "+1"];

    /// <summary>What Synapse puts in <c>invite_room_state</c> (facts §4.4).</summary>
    private static readonly string[] StrippedStateTypes =
        ["m.room.create", "m.room.name", "m.room.join_rules", "m.room.canonical_alias", "m.room.avatar", "m.room.encryption"];

    private static readonly string[] RoomVersions = ["1", "3", "5", "6", "9", "10", "10", "11", "11", "11", "12"];

    private readonly WorkloadOptions _o;
    private readonly SeededRandom _rng;
    private readonly HomeserverState _hs;
    private readonly List<SimEvent> _stream = [];
    private readonly List<TrueRoom> _rooms = [];
    private readonly List<double> _roomWeights = [];
    private readonly List<(string RoomId, string RoomVersion)> _roomList = [];
    private readonly string[] _users;
    private readonly string[] _ghosts;
    private readonly Dictionary<string, (string? Displayname, string? AvatarUrl)> _profiles = new(StringComparer.Ordinal);
    private readonly (double Weight, Func<bool> Action)[] _actions;
    private readonly double[] _actionWeights;
    private readonly double _actionWeightTotal;
    private readonly string _server;
    private double _roomWeightTotal;
    private long _ts;
    private int _pushed;

    private WorkloadGenerator(WorkloadOptions options)
    {
        if (options.Events < 1 || options.Rooms < 1 || options.Users < 4)
        {
            throw new ArgumentException("need at least 1 event, 1 room and 4 users");
        }
        _o = options;
        _server = options.ServerName;
        _rng = SeededRandom.For(options.Seed, "workload");
        _hs = new HomeserverState(options.BotUserId, options.GhostPrefix);
        _ts = 1_735_689_600_000 + (_rng.Next(1_000_000) * 1000L); // from 2025-01-01, seed-dependent
        (_users, _ghosts) = MakeUsers();
        _actions =
        [
            (60, Message), (7, Join), (3, Invite), (3, ResolveInvite), (1, Knock), (1, ResolveKnock),
            (4, Leave), (1.5, Kick), (1, Ban), (1, Unban), (1.5, ProfileChange), (4, StateChange),
            (2, Redaction), (1.5, ReactionOrEdit), (0.4, BotLifecycle), (0.3, EdgeCase), (0.02, Tombstone),
        ];
        _actionWeights = _actions.Select(a => a.Weight).ToArray();
        _actionWeightTotal = _actionWeights.Sum();
    }

    public static Workload Generate(WorkloadOptions options) => new WorkloadGenerator(options).Run();

    private Workload Run()
    {
        var roomSpacing = Math.Max(1, (int)(0.35 * _o.Events / _o.Rooms));
        var scheduled = new (double At, Action Step)[]
        {
            (0.40, KickAndBanTheBotSomewhere),
            (0.55, EmitEdgeCases),
            (0.60, RedactStateAcrossServers),
            (0.65, ReinviteTheBot),
            (0.80, ScheduledTombstone),
        };
        var nextScheduled = 0;
        var guard = 0L;
        var guardLimit = 200L * _o.Events + 100_000;
        while (_pushed < _o.Events)
        {
            if (++guard > guardLimit)
            {
                throw new InvalidOperationException("workload generator made no progress (too few rooms with the bot?)");
            }
            if (_rooms.Count < _o.Rooms && _pushed >= _rooms.Count * roomSpacing)
            {
                CreateRoom(_rooms.Count);
                continue;
            }
            if (nextScheduled < scheduled.Length && _pushed >= scheduled[nextScheduled].At * _o.Events)
            {
                scheduled[nextScheduled++].Step();
                continue;
            }
            var action = _rng.PickWeighted(_actionWeights, _actionWeightTotal);
            if (!_actions[action].Action())
            {
                Message();
            }
        }
        TrimToTarget();
        return new Workload { Options = _o, Stream = _stream, Rooms = _roomList, Users = _users };
    }

    /// <summary>Room and profile bursts overshoot the target; cut the stream right after the N-th pushed event.</summary>
    private void TrimToTarget()
    {
        var pushed = 0;
        var cut = _stream.Count;
        for (var i = 0; i < _stream.Count; i++)
        {
            if (_stream[i].Pushed && ++pushed == _o.Events)
            {
                cut = i + 1;
                break;
            }
        }
        _stream.RemoveRange(cut, _stream.Count - cut);
        foreach (var e in _stream)
        {
            if (e.RedactedByIndex >= cut)
            {
                e.RedactedByIndex = null;
            }
        }
    }

    private (string[] Users, string[] Ghosts) MakeUsers()
    {
        var users = new string[_o.Users];
        var ghosts = new List<string>();
        for (var i = 0; i < users.Length; i++)
        {
            var roll = _rng.NextDouble();
            string user;
            if (roll < 0.2)
            {
                user = $"{_o.GhostPrefix}u{i}:{_server}";
                ghosts.Add(user);
            }
            else if (roll < 0.25)
            {
                // Localparts may contain '/', '+' and '=' (facts §6): the admin API paths must escape them.
                user = $"@u{i}/team+{i % 7}=x:{_server}";
            }
            else if (roll < 0.3)
            {
                user = $"@u{i}.ops_{i % 5}-x:{_server}";
            }
            else if (roll < 0.42 || i is 1 or 2)
            {
                // Users on another server: their redactions of local state need the redact power level.
                user = $"@u{i}:{RemoteServer}";
            }
            else
            {
                user = $"@u{i}:{_server}";
            }
            users[i] = user;
            _profiles[user] = (_rng.Pick(Names) + " " + i, _rng.Chance(0.5) ? Mxc() : null);
        }
        if (ghosts.Count == 0)
        {
            users[^1] = $"{_o.GhostPrefix}u{users.Length - 1}:{_server}";
            _profiles[users[^1]] = ("Ghost", null);
            ghosts.Add(users[^1]);
        }
        _profiles[_o.BotUserId] = ("Projection bot", null);
        return (users, ghosts.ToArray());
    }

    private string Mxc() => $"mxc://{_server}/{Convert.ToHexString(BitConverter.GetBytes(_rng.NextUInt64()))}";

    // ---------------------------------------------------------------- emission

    private SimEvent Emit(TrueRoom room, string type, string sender, string? stateKey, byte[] content,
        string? redacts = null, byte[]? inviteRoomState = null)
    {
        SimEvent? prev = null;
        if (stateKey is not null)
        {
            room.State.TryGetValue((type, stateKey), out prev);
        }
        _ts += _rng.Next(1, 400);
        var e = new SimEvent
        {
            Index = _stream.Count,
            EventId = MatrixIds.EventId(_rng, room.RoomVersion, MatrixIds.Domain(sender) ?? _server),
            RoomId = room.RoomId,
            Type = type,
            Sender = sender,
            StateKey = stateKey,
            OriginServerTs = _ts,
            Content = content,
            Redacts = redacts,
            PrevContent = prev?.Content,
            PrevSender = prev?.Sender,
            ReplacesState = prev?.EventId,
            InviteRoomState = inviteRoomState,
        };
        _hs.Apply(e);
        e.Pushed = _hs.IsInteresting(e);
        _stream.Add(e);
        if (e.Pushed)
        {
            _pushed++;
        }
        return e;
    }

    private SimEvent EmitMember(TrueRoom room, string sender, string target, string membership,
        bool withProfile, string? reason = null, byte[]? inviteRoomState = null)
    {
        var props = new List<(string, object?)> { ("membership", membership) };
        if (withProfile)
        {
            var (displayname, avatar) = _profiles[target];
            props.Add(("displayname", displayname));
            if (avatar is not null)
            {
                props.Add(("avatar_url", avatar));
            }
        }
        if (reason is not null)
        {
            props.Add(("reason", reason));
        }
        return Emit(room, "m.room.member", sender, target, Json.Object(props.ToArray()), inviteRoomState: inviteRoomState);
    }

    private string Sentence(int minWords, int maxWords)
    {
        var count = _rng.Next(minWords, maxWords + 1);
        var words = new string[count];
        for (var i = 0; i < count; i++)
        {
            words[i] = _rng.Pick(Words);
        }
        return string.Join(' ', words);
    }

    // ---------------------------------------------------------------- rooms

    private void CreateRoom(int ordinal)
    {
        var version = RoomVersions[_rng.Next(RoomVersions.Length)];
        var room = _hs.AddRoom(MatrixIds.RoomId(_rng, version, _server), version);
        _rooms.Add(room);
        _roomList.Add((room.RoomId, version));
        var weight = 1.0 / Math.Pow(ordinal + 1, 0.8);
        _roomWeights.Add(weight);
        _roomWeightTotal += weight;

        // When the bot: 0 = in createRoom's invite list, 1 = right after the initial state, 2 = after some
        // history, 3 = never (the room is pushed only if ghosts are in it). Room 0 always has the bot at once
        // so that every workload pushes something from the start.
        var startIndex = _stream.Count;
        var botTiming = ordinal == 0 ? 0 : _rng.NextDouble() switch { < 0.35 => 0, < 0.55 => 1, < 0.93 => 2, _ => 3 };
        var ghostCreator = ordinal != 0 && _rng.Chance(0.2);
        var creator = ghostCreator ? _ghosts[_rng.Next(_ghosts.Length)] : PickRegularUser();

        var create = new List<(string, object?)>();
        var omitVersion = version == "1" && _rng.Chance(0.5); // absent room_version means "1"
        if (!omitVersion)
        {
            create.Add(("room_version", version));
        }
        if (int.Parse(version, System.Globalization.CultureInfo.InvariantCulture) <= 10)
        {
            create.Add(("creator", creator));
        }
        if (_rng.Chance(0.08))
        {
            create.Add(("type", "m.space"));
        }
        if (_rng.Chance(0.1))
        {
            create.Add(("m.federate", false));
        }
        Emit(room, "m.room.create", creator, "", Json.Object(create.ToArray()));
        EmitMember(room, creator, creator, "join", withProfile: true);
        Emit(room, "m.room.power_levels", creator, "", PowerLevels(creator));
        var joinRule = _rng.NextDouble() switch { < 0.4 => "public", < 0.7 => "invite", < 0.9 => "knock", _ => "restricted" };
        Emit(room, "m.room.join_rules", creator, "", JoinRulesContent(joinRule));
        Emit(room, "m.room.history_visibility", creator, "",
            Json.Object(("history_visibility", _rng.Pick(HistoryVisibilities))));
        if (botTiming <= 1)
        {
            InviteBot(room, creator);
        }
        if (botTiming == 0)
        {
            // Synapse checks interest when its appservice handler gets to an event, against the membership at
            // that time (facts §2.5): the bot invited and joined during createRoom is already there when the
            // create event is processed, so the whole creation burst is pushed.
            for (var i = startIndex; i < _stream.Count; i++)
            {
                if (!_stream[i].Pushed)
                {
                    _stream[i].Pushed = true;
                    _pushed++;
                }
            }
        }
        if (_rng.Chance(0.85))
        {
            Emit(room, "m.room.name", creator, "", Json.Object(("name", $"Room {ordinal}: {Sentence(1, 3)}")));
        }
        if (_rng.Chance(0.6))
        {
            Emit(room, "m.room.topic", creator, "", Json.Object(("topic", Sentence(3, 12))));
        }
        if (_rng.Chance(0.4))
        {
            Emit(room, "m.room.canonical_alias", creator, "", Json.Object(("alias", $"#room{ordinal}:{_server}")));
        }
        if (_rng.Chance(0.4))
        {
            Emit(room, "m.room.avatar", creator, "", Json.Object(("url", Mxc())));
        }
        if (_rng.Chance(0.4))
        {
            Emit(room, "m.room.encryption", creator, "", Json.Object(("algorithm", Megolm), ("rotation_period_ms", 604800000L)));
        }
        var initialMembers = 1 + (int)(weight * _rng.Next(4, 20));
        for (var i = 0; i < initialMembers; i++)
        {
            AddMember(room, creator);
        }
        for (var i = _rng.Next(0, 6); i > 0; i--)
        {
            MessageIn(room);
        }
        if (botTiming == 2)
        {
            InviteBot(room, creator);
        }
    }

    private static byte[] PowerLevels(string admin) =>
        Json.Object(("users", new (string, object?)[] { (admin, 100) }), ("users_default", 0), ("events_default", 0),
            ("state_default", 50), ("ban", 50), ("kick", 50), ("redact", 50), ("invite", 0));

    private byte[] JoinRulesContent(string joinRule) => joinRule == "restricted"
        ? Json.Object(("join_rule", joinRule),
            ("allow", new RawJson(Json.Array([Json.Object(("type", "m.room_membership"), ("room_id", _rooms[0].RoomId))]))))
        : Json.Object(("join_rule", joinRule));

    /// <summary>A new member for a fresh room: joins if the rules allow it, otherwise invited and joining.</summary>
    private void AddMember(TrueRoom room, string inviter)
    {
        var user = PickOutsider(room);
        if (user is null)
        {
            return;
        }
        if (room.JoinRule is not ("public" or "restricted"))
        {
            EmitMember(room, inviter, user, "invite", withProfile: _rng.Chance(0.7));
        }
        EmitMember(room, user, user, "join", withProfile: true);
    }

    /// <summary>The homeserver pushes the invite (with stripped state); the simulator then pushes the bot's
    /// join, which the service will trigger itself with /join in a later issue.</summary>
    private void InviteBot(TrueRoom room, string inviter)
    {
        var stripped = new List<byte[]>();
        foreach (var type in StrippedStateTypes)
        {
            if (room.State.TryGetValue((type, ""), out var s))
            {
                stripped.Add(Json.Object(("type", type), ("state_key", ""), ("sender", s.Sender), ("content", new RawJson(s.Content))));
            }
        }
        EmitMember(room, inviter, _o.BotUserId, "invite", withProfile: true, inviteRoomState: Json.Array(stripped));
        EmitMember(room, _o.BotUserId, _o.BotUserId, "join", withProfile: true);
    }

    private TrueRoom PickRoom() => _rooms[_rng.PickWeighted(_roomWeights, _roomWeightTotal)];

    private string PickRegularUser()
    {
        while (true)
        {
            var user = _users[_rng.Next(_users.Length)];
            if (!_hs.IsNamespaced(user))
            {
                return user;
            }
        }
    }

    /// <summary>A user (not the bot) who is not in the room: never a member, or left.</summary>
    private string? PickOutsider(TrueRoom room)
    {
        for (var attempt = 0; attempt < 12; attempt++)
        {
            var user = _users[_rng.Next(_users.Length)];
            if (room.MembershipOf(user) is null or "leave")
            {
                return user;
            }
        }
        return null;
    }

    private string? PickJoined(TrueRoom room, bool humanOnly = true, string? except = null)
    {
        if (room.Joined.Count == 0)
        {
            return null;
        }
        for (var attempt = 0; attempt < 8; attempt++)
        {
            var user = room.Joined.Pick(_rng);
            if ((!humanOnly || user != _o.BotUserId) && user != except)
            {
                return user;
            }
        }
        return null;
    }

    private static string? PickFrom(IndexedSet<string> set, SeededRandom rng, string? except)
    {
        if (set.Count == 0)
        {
            return null;
        }
        var user = set.Pick(rng);
        return user == except ? null : user;
    }

    private int HumanJoined(TrueRoom room) => room.Joined.Count - (room.Joined.Contains(_o.BotUserId) ? 1 : 0);

    // ---------------------------------------------------------------- actions (false = nothing emitted)

    private bool Message() => MessageIn(PickRoom());

    private bool MessageIn(TrueRoom room)
    {
        // The bot talks too: its own events come back to the service (facts §2.7).
        var sender = PickJoined(room, humanOnly: !_rng.Chance(0.03));
        if (sender is null)
        {
            return false;
        }
        var msgtype = _rng.NextDouble() switch { < 0.9 => "m.text", < 0.96 => "m.notice", _ => "m.emote" };
        var body = Sentence(2, 40);
        var content = _rng.Chance(0.2)
            ? Json.Object(("msgtype", msgtype), ("body", body), ("format", "org.matrix.custom.html"), ("formatted_body", $"<p>{body}</p>"))
            : Json.Object(("msgtype", msgtype), ("body", body));
        if (room.State.ContainsKey(("m.room.encryption", "")) && _rng.Chance(0.5))
        {
            Emit(room, "m.room.encrypted", sender, null, Json.Object(("algorithm", Megolm),
                ("ciphertext", Convert.ToBase64String(BitConverter.GetBytes(_rng.NextUInt64())) + new string('A', body.Length)),
                ("session_id", "s" + _rng.Next(1000)), ("device_id", "DEVICE")));
            return true;
        }
        Emit(room, "m.room.message", sender, null, content);
        return true;
    }

    private bool Join()
    {
        var room = PickRoom();
        var user = PickOutsider(room);
        if (user is null)
        {
            return false;
        }
        switch (room.JoinRule)
        {
            case "public":
                EmitMember(room, user, user, "join", withProfile: true);
                return true;
            case "restricted":
                var via = PickJoined(room);
                if (via is null)
                {
                    return false;
                }
                var (displayname, avatar) = _profiles[user];
                Emit(room, "m.room.member", user, user, avatar is null
                    ? Json.Object(("membership", "join"), ("displayname", displayname), ("join_authorised_via_users_server", via))
                    : Json.Object(("membership", "join"), ("displayname", displayname), ("avatar_url", avatar), ("join_authorised_via_users_server", via)));
                return true;
            case "knock":
                EmitMember(room, user, user, "knock", withProfile: true, reason: _rng.Chance(0.3) ? "let me in" : null);
                return true;
            default:
                var inviter = PickJoined(room);
                if (inviter is null)
                {
                    return false;
                }
                EmitMember(room, inviter, user, "invite", withProfile: _rng.Chance(0.7));
                return true;
        }
    }

    private bool Invite()
    {
        var room = PickRoom();
        var inviter = PickJoined(room);
        var user = PickOutsider(room);
        if (inviter is null || user is null)
        {
            return false;
        }
        EmitMember(room, inviter, user, "invite", withProfile: _rng.Chance(0.7));
        return true;
    }

    private bool ResolveInvite()
    {
        var room = PickRoom();
        var user = PickFrom(room.Invited, _rng, except: _o.BotUserId);
        if (user is null)
        {
            return false;
        }
        var roll = _rng.NextDouble();
        if (roll < 0.7)
        {
            EmitMember(room, user, user, "join", withProfile: true); // accepted
        }
        else if (roll < 0.88)
        {
            EmitMember(room, user, user, "leave", withProfile: false); // rejected
        }
        else
        {
            var actor = PickJoined(room);
            if (actor is null)
            {
                return false;
            }
            EmitMember(room, actor, user, roll < 0.96 ? "leave" : "ban", withProfile: false, reason: "invite revoked");
        }
        return true;
    }

    private bool Knock()
    {
        var room = PickRoom();
        if (room.JoinRule != "knock")
        {
            return false;
        }
        var user = PickOutsider(room);
        if (user is null)
        {
            return false;
        }
        EmitMember(room, user, user, "knock", withProfile: true, reason: _rng.Chance(0.5) ? "hello?" : null);
        return true;
    }

    private bool ResolveKnock()
    {
        var room = PickRoom();
        var user = PickFrom(room.Knocking, _rng, except: null);
        var actor = PickJoined(room);
        if (user is null || actor is null)
        {
            return false;
        }
        var roll = _rng.NextDouble();
        if (roll < 0.6)
        {
            EmitMember(room, actor, user, "invite", withProfile: true); // knock accepted
        }
        else if (roll < 0.85)
        {
            EmitMember(room, actor, user, "leave", withProfile: false, reason: "no"); // denied
        }
        else
        {
            EmitMember(room, user, user, "leave", withProfile: false); // retracted
        }
        return true;
    }

    private bool Leave()
    {
        var room = PickRoom();
        if (HumanJoined(room) < 3)
        {
            return false;
        }
        var user = PickJoined(room);
        if (user is null)
        {
            return false;
        }
        EmitMember(room, user, user, "leave", withProfile: false);
        return true;
    }

    private bool Kick()
    {
        var room = PickRoom();
        if (HumanJoined(room) < 3)
        {
            return false;
        }
        var actor = PickJoined(room, humanOnly: !_rng.Chance(0.1));
        var target = actor is null ? null : PickJoined(room, except: actor);
        if (actor is null || target is null)
        {
            return false;
        }
        EmitMember(room, actor, target, "leave", withProfile: false, reason: _rng.Chance(0.5) ? "spam" : null);
        return true;
    }

    private bool Ban()
    {
        var room = PickRoom();
        var actor = PickJoined(room);
        if (actor is null || HumanJoined(room) < 3)
        {
            return false;
        }
        var target = _users[_rng.Next(_users.Length)];
        if (target == actor || room.MembershipOf(target) == "ban")
        {
            return false;
        }
        EmitMember(room, actor, target, "ban", withProfile: false, reason: _rng.Chance(0.5) ? "abuse" : null);
        return true;
    }

    private bool Unban()
    {
        var room = PickRoom();
        var target = PickFrom(room.Banned, _rng, except: _o.BotUserId);
        var actor = PickJoined(room);
        if (target is null || actor is null)
        {
            return false;
        }
        EmitMember(room, actor, target, "leave", withProfile: false);
        return true;
    }

    /// <summary>A global profile change: the homeserver sends join→join in every room the user is in.</summary>
    private bool ProfileChange()
    {
        var user = PickJoined(PickRoom());
        if (user is null)
        {
            return false;
        }
        var (displayname, avatar) = _profiles[user];
        var roll = _rng.NextDouble();
        if (roll < 0.6)
        {
            displayname = $"{_rng.Pick(Names)} {_rng.Pick(Words)}";
        }
        else if (roll < 0.9)
        {
            avatar = _rng.Chance(0.8) ? Mxc() : null;
        }
        else
        {
            displayname = null;
        }
        _profiles[user] = (displayname, avatar);
        foreach (var room in _rooms)
        {
            if (room.MembershipOf(user) == "join")
            {
                EmitMember(room, user, user, "join", withProfile: true);
            }
        }
        return true;
    }

    private bool StateChange()
    {
        var room = PickRoom();
        var actor = PickJoined(room);
        if (actor is null)
        {
            return false;
        }
        switch (_rng.Next(9))
        {
            case 0: Emit(room, "m.room.name", actor, "", Clearable("name", $"{Sentence(1, 4)}")); break;
            case 1: Emit(room, "m.room.topic", actor, "", Clearable("topic", Sentence(3, 15))); break;
            case 2:
                Emit(room, "m.room.canonical_alias", actor, "", _rng.Chance(0.7)
                    ? Json.Object(("alias", $"#r{_rng.Next(100_000)}:{_server}"), ("alt_aliases", new[] { $"#alt{_rng.Next(1000)}:{_server}" }))
                    : Clearable("alias", $"#x{_rng.Next(1000)}:{_server}"));
                break;
            case 3: Emit(room, "m.room.avatar", actor, "", _rng.Chance(0.8) ? Json.Object(("url", Mxc())) : Json.EmptyObject); break;
            case 4:
                Emit(room, "m.room.join_rules", actor, "", JoinRulesContent(_rng.Pick(JoinRules)));
                break;
            case 5:
                Emit(room, "m.room.history_visibility", actor, "",
                    Json.Object(("history_visibility", _rng.Pick(HistoryVisibilities))));
                break;
            case 6:
                Emit(room, "m.room.encryption", actor, "", _rng.Chance(0.95) ? Json.Object(("algorithm", Megolm)) : Json.EmptyObject);
                break;
            case 7: Emit(room, "m.room.power_levels", actor, "", PowerLevels(actor)); break;
            default:
                Emit(room, "im.vector.modular.widgets", actor, $"widget_{_rng.Next(5)}", Json.Object(("url", "https://example.org/w"), ("type", "m.custom")));
                break;
        }
        return true;
    }

    /// <summary>A value, or one of the three ways of clearing it: empty string, null, absent.</summary>
    private byte[] Clearable(string key, string value) => _rng.NextDouble() switch
    {
        < 0.8 => Json.Object((key, value)),
        < 0.87 => Json.Object((key, "")),
        < 0.94 => Json.Object((key, null)),
        _ => Json.EmptyObject,
    };

    private bool Redaction()
    {
        var room = PickRoom();
        if (_o.RedactState && _rng.Chance(0.25))
        {
            return RandomStateRedaction(room);
        }
        if (room.RecentMessages.Count == 0)
        {
            return false;
        }
        var target = room.RecentMessages[_rng.Next(room.RecentMessages.Count)];
        var actor = room.Joined.Contains(target.Sender) && _rng.Chance(0.7) ? target.Sender : PickJoined(room);
        if (actor is null)
        {
            return false;
        }
        var redaction = Emit(room, "m.room.redaction", actor, null,
            _rng.Chance(0.3) ? Json.Object(("redacts", target.EventId), ("reason", "oops")) : Json.Object(("redacts", target.EventId)),
            redacts: target.EventId);
        target.RedactedByIndex = redaction.Index;
        room.ForgetMessage(target);
        return true;
    }

    private static readonly string[] RedactableStateTypes = ["m.room.name", "m.room.topic", "m.room.avatar", "m.room.encryption", "m.room.member"];

    /// <summary>--redact-state: a joined user (local or remote, with or without power) redacts a current state
    /// event of a type the projection reads; the homeserver applies it only if authorised.</summary>
    private bool RandomStateRedaction(TrueRoom room)
    {
        var actor = PickJoined(room);
        var type = _rng.Pick(RedactableStateTypes);
        var candidates = room.State.Where(s => s.Key.Type == type && (type == "m.room.member" || s.Key.StateKey.Length == 0)).Select(s => s.Value).ToList();
        if (actor is null || candidates.Count == 0)
        {
            return false;
        }
        RedactState(room, actor, candidates[_rng.Next(candidates.Count)]);
        return true;
    }

    /// <summary>A redaction of a state event; the homeserver model applies it only if authorised.</summary>
    private void RedactState(TrueRoom room, string actor, SimEvent target) =>
        Emit(room, "m.room.redaction", actor, null, Json.Object(("redacts", target.EventId)), redacts: target.EventId);

    private static bool IsRemote(string userId) => MatrixIds.Domain(userId) == RemoteServer;

    /// <summary>
    /// Scheduled once: in up to three rooms with the bot (one of v1/v2, v3–v11, v12 where there are such rooms),
    /// a powerless user on <see cref="RemoteServer"/> redacts the local name, topic, avatar and a local member's
    /// profile (the homeserver changes nothing), then a local moderator given the redact level by power levels
    /// redacts the remote user's topic and profile and the room's m.room.encryption (applied; encryption stays on).
    /// </summary>
    private void RedactStateAcrossServers()
    {
        var groups = new Func<string, bool>[] { v => v is "1" or "2", v => v is not ("1" or "2" or "12"), v => v == "12" };
        foreach (var group in groups)
        {
            var room = _rooms.FirstOrDefault(r => group(r.RoomVersion) && r.MembershipOf(_o.BotUserId) == "join");
            if (room is not null)
            {
                RedactStateAcrossServersIn(room);
            }
        }
    }

    private void RedactStateAcrossServersIn(TrueRoom room)
    {
        // The moderator is not the creator: in v12 a creator's power is infinite anyway, and the service may not
        // know the creators of a room whose create event it never saw; a power level decides for everyone.
        var creator = room.State.TryGetValue(("m.room.create", ""), out var create) ? create.Sender : null;
        var mod = room.Joined.Items.FirstOrDefault(u => u != _o.BotUserId && u != creator && !IsRemote(u));
        if (mod is null)
        {
            return;
        }
        var redactLevel = 50L;
        if (room.State.TryGetValue(("m.room.power_levels", ""), out var pl))
        {
            using var doc = System.Text.Json.JsonDocument.Parse(pl.Content);
            redactLevel = doc.RootElement.TryGetProperty("redact", out var r) && r.ValueKind == System.Text.Json.JsonValueKind.Number && r.TryGetInt64(out var rl) ? rl : 50;
        }
        var remote = _users.FirstOrDefault(u => IsRemote(u) && room.MembershipOf(u) != "ban" && !(pl is not null && HomeserverState.PowerOf(pl.Content, u) >= redactLevel) && u != creator);
        if (remote is null)
        {
            return;
        }
        if (room.MembershipOf(remote) != "join")
        {
            EmitMember(room, mod, remote, "invite", withProfile: false);
            EmitMember(room, remote, remote, "join", withProfile: true);
        }
        // Local state the remote user will try to blank.
        foreach (var (type, key, value) in new[] { ("m.room.name", "name", "Shared room"), ("m.room.topic", "topic", "about " + Sentence(2, 5)), ("m.room.avatar", "url", Mxc()) })
        {
            if (!room.State.TryGetValue((type, ""), out var current) || IsRemote(current.Sender) || current.Content.Length <= 2)
            {
                Emit(room, type, mod, "", Json.Object((key, value)));
            }
        }
        foreach (var type in new[] { "m.room.name", "m.room.topic", "m.room.avatar" })
        {
            RedactState(room, remote, room.State[(type, "")]);
        }
        RedactState(room, remote, room.State[("m.room.member", mod)]);

        // The moderator's power, then redactions across servers that apply.
        Emit(room, "m.room.power_levels", mod, "", PowerLevels(mod));
        Emit(room, "m.room.topic", remote, "", Json.Object(("topic", "remote says " + Sentence(1, 4))));
        RedactState(room, mod, room.State[("m.room.topic", "")]);
        RedactState(room, mod, room.State[("m.room.member", remote)]);
        if (!room.State.ContainsKey(("m.room.encryption", "")))
        {
            Emit(room, "m.room.encryption", mod, "", Json.Object(("algorithm", Megolm)));
        }
        RedactState(room, mod, room.State[("m.room.encryption", "")]);
    }

    private bool ReactionOrEdit()
    {
        var room = PickRoom();
        var actor = PickJoined(room);
        if (actor is null || room.RecentMessages.Count == 0)
        {
            return false;
        }
        var target = room.RecentMessages[_rng.Next(room.RecentMessages.Count)];
        if (_rng.Chance(0.7))
        {
            Emit(room, "m.reaction", actor, null, Json.Object(("m.relates_to", new (string, object?)[]
            {
                ("rel_type", "m.annotation"), ("event_id", target.EventId), ("key", _rng.Pick(ReactionKeys)),
            })));
        }
        else
        {
            var body = Sentence(2, 20);
            Emit(room, "m.room.message", actor, null, Json.Object(("msgtype", "m.text"), ("body", "* " + body),
                ("m.new_content", new (string, object?)[] { ("msgtype", "m.text"), ("body", body) }),
                ("m.relates_to", new (string, object?)[] { ("rel_type", "m.replace"), ("event_id", target.EventId) })));
        }
        return true;
    }

    /// <summary>The bot kicked, banned, unbanned or re-invited in a random room.</summary>
    private bool BotLifecycle()
    {
        var room = PickRoom();
        var actor = PickJoined(room);
        if (actor is null)
        {
            return false;
        }
        switch (room.MembershipOf(_o.BotUserId))
        {
            case "join":
                EmitMember(room, actor, _o.BotUserId, _rng.Chance(0.6) ? "leave" : "ban", withProfile: false,
                    reason: _rng.Chance(0.5) ? "bots out" : null);
                return true;
            case "ban":
                EmitMember(room, actor, _o.BotUserId, "leave", withProfile: false);
                return true;
            case null or "leave":
                InviteBot(room, actor);
                return true;
            default:
                return false;
        }
    }

    private bool Tombstone() => TombstoneIn(PickRoom());

    /// <summary>Scheduled once: a room the bot is in is upgraded, so the service sees a tombstone.</summary>
    private void ScheduledTombstone()
    {
        var room = _rooms.LastOrDefault(r => r.MembershipOf(_o.BotUserId) == "join");
        if (room is not null)
        {
            TombstoneIn(room);
        }
    }

    private bool TombstoneIn(TrueRoom room)
    {
        var actor = PickJoined(room);
        if (actor is null || _rooms.Count < 2)
        {
            return false;
        }
        var successor = _rooms[_rng.Next(_rooms.Count)];
        if (successor == room)
        {
            successor = _rooms[(_rooms.IndexOf(room) + 1) % _rooms.Count];
        }
        Emit(room, "m.room.tombstone", actor, "", Json.Object(("body", "This room has been replaced"), ("replacement_room", successor.RoomId)));
        return true;
    }

    /// <summary>Valid events that test the projection's rules at their edges.</summary>
    private bool EdgeCase()
    {
        var room = PickRoom();
        var actor = PickJoined(room);
        if (actor is null)
        {
            return false;
        }
        switch (_rng.Next(5))
        {
            case 0: // a room-info type with a non-empty state_key is not room info
                Emit(room, "m.room.name", actor, "not-empty", Json.Object(("name", "must not become the room name")));
                break;
            case 1: // no state_key: a message event, not state, whatever its type
                Emit(room, "m.room.topic", actor, null, Json.Object(("topic", "must not become the topic")));
                break;
            case 2:
                Emit(room, "m.room.name", actor, "", _rng.Chance(0.5) ? Json.Object(("name", null)) : Json.Object(("name", "")));
                break;
            case 3: // join→join that drops the avatar: avatar_url absent means no avatar
                Emit(room, "m.room.member", actor, actor, Json.Object(("membership", "join"), ("displayname", _profiles[actor].Displayname)));
                break;
            default: // a member event whose displayname is explicitly null
                Emit(room, "m.room.member", actor, actor, Json.Object(("membership", "join"), ("displayname", null)));
                break;
        }
        return true;
    }

    /// <summary>Scheduled once per workload: every edge case at least once, and one big but valid event.</summary>
    private void EmitEdgeCases()
    {
        for (var i = 0; i < 5; i++)
        {
            EdgeCase();
        }
        var room = _rooms.FirstOrDefault(r => r.MembershipOf(_o.BotUserId) == "join");
        var actor = room is null ? null : PickJoined(room);
        if (room is not null && actor is not null && _o.Events >= 1000)
        {
            Emit(room, "m.room.message", actor, null, Json.Object(("msgtype", "m.text"), ("body", new string('x', BigEventBodyChars))));
        }
    }

    private void KickAndBanTheBotSomewhere()
    {
        var withBot = _rooms.Where(r => r.MembershipOf(_o.BotUserId) == "join").Take(2).ToList();
        for (var i = 0; i < withBot.Count; i++)
        {
            var actor = PickJoined(withBot[i]);
            if (actor is not null)
            {
                EmitMember(withBot[i], actor, _o.BotUserId, i == 0 ? "leave" : "ban", withProfile: false, reason: "scheduled");
            }
        }
    }

    private void ReinviteTheBot()
    {
        foreach (var room in _rooms.Where(r => r.MembershipOf(_o.BotUserId) is "leave" or "ban").Take(2).ToList())
        {
            var actor = PickJoined(room);
            if (actor is null)
            {
                continue;
            }
            if (room.MembershipOf(_o.BotUserId) == "ban")
            {
                EmitMember(room, actor, _o.BotUserId, "leave", withProfile: false); // unban first
            }
            InviteBot(room, actor);
        }
    }
}
