using AppService.Simulator.Workload;

namespace AppService.Simulator.Homeserver;

/// <summary>
/// What happens on the homeserver, one step at a time, seeded: rooms created (the bot invited at once or later),
/// users joining, leaving, changing profile, invited, kicked, banned and unbanned, room state changing, messages; and
/// what homeservers do that a projection must survive: soft-failed state events (stored, pushed flagged, not current),
/// state resets (a key goes back to an older event with no event in the stream), redactions of current state by the
/// room's creator, the bot kicked, banned, unbanned and re-invited (the service joins again through <c>POST /join</c>),
/// and first events of a key (no <c>replaces_state</c>). Every call is made under <see cref="HsWorld.Gate"/>.
/// The seed fixes every choice; when the service's <c>POST /join</c> arrives is up to the service, so the stream of
/// two runs of one seed can differ after the first join.
/// </summary>
internal sealed class HsGenerator(HsWorld world, int rooms, int users, SeededRandom rng)
{
    private readonly List<HsRoom> _rooms = [];

    public string User(int n) => $"@u{n}:{world.ServerName}";

    /// <summary>One step: usually one event, a room's creation several.</summary>
    public void Step()
    {
        if (_rooms.Count < rooms && (_rooms.Count == 0 || rng.Chance(0.06)))
        {
            CreateRoom();
            return;
        }
        var room = _rooms[rng.Next(_rooms.Count)];
        var x = rng.NextDouble();
        var done = x switch
        {
            < 0.22 => false,
            < 0.54 => Membership(room),
            < 0.68 => RoomState(room),
            < 0.75 => SoftFailed(room),
            < 0.80 => StateReset(room),
            < 0.85 => RedactState(room),
            < 0.91 => BotLifecycle(room),
            _ => false,
        };
        if (!done)
        {
            Message(room);
        }
    }

    private void CreateRoom()
    {
        var number = _rooms.Count;
        var version = rng.Chance(0.5) ? "10" : "11";
        var creator = User(rng.Next(users));
        var room = world.AddRoom(number, version, creator);
        _rooms.Add(room);
        world.Append(room, "m.room.create", "", creator, version == "10"
            ? Json.Object(("room_version", version), ("creator", creator))
            : Json.Object(("room_version", version)));
        world.Append(room, "m.room.member", creator, creator, MemberContent("join", creator));
        world.Append(room, "m.room.power_levels", "", creator, Json.Object(
            ("users", new (string, object?)[] { (creator, 100) }), ("users_default", 0), ("events_default", 0),
            ("state_default", 50), ("redact", 50), ("kick", 50), ("ban", 50), ("invite", 0)));
        world.Append(room, "m.room.join_rules", "", creator, Json.Object(("join_rule", rng.Chance(0.5) ? "public" : "invite")));
        world.Append(room, "m.room.history_visibility", "", creator, Json.Object(("history_visibility", "shared")));
        world.Append(room, "m.room.name", "", creator, Json.Object(("name", $"Room {world.RunTag}-{number}")));
        for (var i = rng.Next(1, 5); i > 0; i--)
        {
            var user = User(rng.Next(users));
            if (room.MembershipOf(user) is null)
            {
                world.Append(room, "m.room.member", user, user, MemberContent("join", user));
            }
        }
        if (rng.Chance(0.8))
        {
            InviteBot(room);
        }
        world.Count("rooms");
    }

    private bool Membership(HsRoom room)
    {
        var user = User(rng.Next(users));
        if (user == room.Creator)
        {
            return false;
        }
        var membership = room.MembershipOf(user);
        switch (membership)
        {
            case null or "leave":
                if (rng.Chance(0.7))
                {
                    world.Append(room, "m.room.member", user, user, MemberContent("join", user));
                }
                else
                {
                    world.Append(room, "m.room.member", user, room.Creator, Json.Object(("membership", "invite")));
                }
                return true;
            case "invite":
                world.Append(room, "m.room.member", user, user, rng.Chance(0.7) ? MemberContent("join", user) : Json.Object(("membership", "leave")));
                return true;
            case "join":
                var x = rng.NextDouble();
                if (x < 0.4)
                {
                    world.Append(room, "m.room.member", user, user, MemberContent("join", user));
                }
                else if (x < 0.65)
                {
                    world.Append(room, "m.room.member", user, user, Json.Object(("membership", "leave")));
                }
                else if (x < 0.85)
                {
                    world.Append(room, "m.room.member", user, room.Creator, Json.Object(("membership", "leave"), ("reason", "kicked")));
                }
                else
                {
                    world.Append(room, "m.room.member", user, room.Creator, Json.Object(("membership", "ban")));
                }
                return true;
            case "ban":
                world.Append(room, "m.room.member", user, room.Creator, Json.Object(("membership", "leave")));
                return true;
            default:
                return false;
        }
    }

    private bool RoomState(HsRoom room)
    {
        var n = ++room.Counter;
        switch (rng.Next(8))
        {
            case 0 or 1:
                world.Append(room, "m.room.name", "", room.Creator, Json.Object(("name", rng.Chance(0.15) ? "" : $"Room {room.RoomId[3..8]} #{n}")));
                break;
            case 2:
                world.Append(room, "m.room.topic", "", room.Creator, rng.Chance(0.15) ? Json.EmptyObject : Json.Object(("topic", $"Topic #{n}")));
                break;
            case 3:
                world.Append(room, "m.room.avatar", "", room.Creator, Json.Object(("url", $"mxc://{world.ServerName}/avatar{n}")));
                break;
            case 4:
                world.Append(room, "m.room.canonical_alias", "", room.Creator, Json.Object(("alias", $"#r{world.RunTag}-{n}:{world.ServerName}")));
                break;
            case 5:
                world.Append(room, "m.room.join_rules", "", room.Creator, Json.Object(("join_rule", rng.Chance(0.5) ? "public" : "invite")));
                break;
            case 6:
                world.Append(room, "m.room.history_visibility", "", room.Creator,
                    Json.Object(("history_visibility", rng.Chance(0.5) ? "joined" : "shared")));
                break;
            default:
                if (room.State.ContainsKey(("m.room.encryption", "")))
                {
                    if (!rng.Chance(0.2) || room.State.ContainsKey(("m.room.tombstone", "")))
                    {
                        return false;
                    }
                    world.Append(room, "m.room.tombstone", "", room.Creator,
                        Json.Object(("body", "moved"), ("replacement_room", $"!next{world.RunTag}{n}:{world.ServerName}")));
                    world.Count("tombstones");
                    break;
                }
                world.Append(room, "m.room.encryption", "", room.Creator, Json.Object(("algorithm", "m.megolm.v1.aes-sha2")));
                break;
        }
        return true;
    }

    /// <summary>A state event the homeserver stores but soft-fails: pushed flagged (Synapse), never current.</summary>
    private bool SoftFailed(HsRoom room)
    {
        if (room.BotMembership != "join")
        {
            return false; // not pushed: nothing to get wrong
        }
        var joined = room.UsersWith("join").Where(u => u != room.Creator && u != world.BotUserId).ToList();
        var sender = joined.Count > 0 ? joined[rng.Next(joined.Count)] : User(rng.Next(users));
        switch (rng.Next(4))
        {
            case 0:
                world.Append(room, "m.room.name", "", sender, Json.Object(("name", "Spam name")), softFailed: true);
                break;
            case 1:
                world.Append(room, "m.room.topic", "", sender, Json.Object(("topic", "Spam topic")), softFailed: true);
                break;
            case 2:
                if (joined.Count < 2)
                {
                    return false;
                }
                var victim = joined.First(u => u != sender);
                world.Append(room, "m.room.member", victim, sender, Json.Object(("membership", "ban")), softFailed: true);
                break;
            default:
                // A first member event of a user, soft-failed: no replaces_state, and it must not create a member.
                var newcomer = User(rng.Next(users));
                if (room.MembershipOf(newcomer) is not null)
                {
                    return false;
                }
                world.Append(room, "m.room.member", newcomer, newcomer, MemberContent("join", newcomer), softFailed: true);
                break;
        }
        world.Count("soft-failed events");
        return true;
    }

    /// <summary>A key of the room goes back to an older event of its history, with nothing in the stream.</summary>
    private bool StateReset(HsRoom room)
    {
        if (room.BotMembership != "join")
        {
            return false; // the bot's next join resyncs the room anyway
        }
        var candidates = room.History
            .Where(h => h.Key.Type is "m.room.name" or "m.room.topic" or "m.room.avatar" or "m.room.canonical_alias"
                            or "m.room.join_rules" or "m.room.history_visibility"
                        || (h.Key.Type == "m.room.member" && h.Key.StateKey != world.BotUserId && h.Key.StateKey != room.Creator))
            .Select(h => (h.Key, Older: h.Value.Where(e => e.EventId != room.State[h.Key].EventId).ToList()))
            .Where(c => c.Older.Count > 0)
            .OrderBy(c => c.Key.Type, StringComparer.Ordinal).ThenBy(c => c.Key.StateKey, StringComparer.Ordinal)
            .ToList();
        if (candidates.Count == 0)
        {
            return false;
        }
        var (key, older) = candidates[rng.Next(candidates.Count)];
        world.ResetState(room, key, older[rng.Next(older.Count)]);
        return true;
    }

    /// <summary>The creator (power 100, redact 50) redacts a current name, topic, avatar, alias or member event.</summary>
    private bool RedactState(HsRoom room)
    {
        var targets = room.State
            .Where(s => (s.Key.Type is "m.room.name" or "m.room.topic" or "m.room.avatar" or "m.room.canonical_alias"
                         || (s.Key.Type == "m.room.member" && s.Key.StateKey != world.BotUserId && s.Key.StateKey != room.Creator))
                        && !room.Redacted.Contains(s.Value.EventId!))
            .OrderBy(s => s.Value.Index)
            .ToList();
        if (targets.Count == 0)
        {
            return false;
        }
        var target = targets[rng.Next(targets.Count)].Value;
        world.Append(room, "m.room.redaction", null, room.Creator, Json.Object(("redacts", target.EventId)), redacts: target.EventId);
        world.Count("redactions of state");
        return true;
    }

    /// <summary>The bot invited (first time or again), kicked, banned, unbanned, or its invite revoked.</summary>
    private bool BotLifecycle(HsRoom room)
    {
        switch (room.BotMembership)
        {
            case null:
                InviteBot(room);
                return true;
            case "join" when rng.Chance(0.4):
                var ban = rng.Chance(0.35);
                world.Append(room, "m.room.member", world.BotUserId, room.Creator,
                    ban ? Json.Object(("membership", "ban")) : Json.Object(("membership", "leave"), ("reason", "kicked")));
                world.Count(ban ? "bot banned" : "bot kicked");
                return true;
            case "leave":
                InviteBot(room);
                world.Count("bot re-invited");
                return true;
            case "ban":
                world.Append(room, "m.room.member", world.BotUserId, room.Creator, Json.Object(("membership", "leave")));
                world.Count("bot unbanned");
                return true;
            case "invite" when rng.Chance(0.15):
                world.Append(room, "m.room.member", world.BotUserId, room.Creator, Json.Object(("membership", "leave")));
                world.Count("bot's invite revoked");
                return true;
            default:
                return false;
        }
    }

    private void InviteBot(HsRoom room)
    {
        var stripped = room.State
            .Where(s => s.Key.Type is "m.room.create" or "m.room.join_rules" or "m.room.name" or "m.room.avatar" or "m.room.encryption"
                        && s.Key.StateKey.Length == 0)
            .OrderBy(s => s.Value.Index)
            .Select(s => Json.Object(("type", s.Key.Type), ("state_key", ""), ("sender", s.Value.Sender), ("content", new RawJson(s.Value.Content))));
        world.Append(room, "m.room.member", world.BotUserId, room.Creator, Json.Object(("membership", "invite")),
            inviteRoomState: Json.Array(stripped));
        room.BotInvitedOnce = true;
        world.Count("bot invited");
    }

    private void Message(HsRoom room)
    {
        var joined = room.UsersWith("join").Where(u => u != world.BotUserId).ToList();
        var sender = joined.Count > 0 ? joined[rng.Next(joined.Count)] : room.Creator;
        world.Append(room, "m.room.message", null, sender, Json.Object(("msgtype", "m.text"), ("body", $"message {world.Stream.Count}")));
    }

    /// <summary>A member's content: a display name and avatar (either sometimes absent), as a profile change sends.</summary>
    private byte[] MemberContent(string membership, string user)
    {
        var local = user[1..user.IndexOf(':', StringComparison.Ordinal)];
        var props = new List<(string, object?)> { ("membership", membership) };
        if (!rng.Chance(0.15))
        {
            props.Add(("displayname", rng.Chance(0.5) ? $"User {local}" : $"User {local} v{rng.Next(100)}"));
        }
        if (rng.Chance(0.5))
        {
            props.Add(("avatar_url", $"mxc://{world.ServerName}/{local}-{rng.Next(100)}"));
        }
        return Json.Object([.. props]);
    }
}
