using AppService.Simulator.Oracle;
using AppService.Simulator.Workload;

namespace AppService.Simulator.Homeserver;

/// <summary>
/// Compares every room of a homeserver-mode run with the homeserver's current state, through the admin API. Its
/// rules are written from the Matrix side, not taken from the service: a room's info is its current state's
/// <c>m.room.*</c> events (state_key ""; an empty or absent value is none); its member rows are the current
/// <c>m.room.member</c> events (every membership) while the bot is joined, none once it left or was kicked or banned;
/// <c>bot_membership</c> is the bot's current membership (also where a push of it was not applied: the service's
/// settle of a room the bot is not joined to takes it from <c>/members</c>, which <see cref="HsWorld.Snapshot"/>
/// answers a bot that left as Synapse does); the room is not suspect. A room the bot was never invited
/// to is unknown to the service.
/// <para>
/// <see cref="CheckMode.AtQuiescence"/> is the rule of issue 16 right after the last push was acknowledged and no
/// job is open: everything must already be exact, except a key whose current value no push ever carried since the
/// bot's last join (a state reset, a redaction Dendrite did not push): only a snapshot shows those. <see
/// cref="CheckMode.AfterResync"/> follows a resync of every joined room and leaves nothing out.
/// </para>
/// </summary>
internal sealed class HsOracle(HsWorld world, AdminApiClient admin)
{
    internal enum CheckMode
    {
        AtQuiescence,
        AfterResync,
    }

    private static readonly (string Field, string Type, string Property)[] InfoFields =
    [
        ("name", "m.room.name", "name"),
        ("topic", "m.room.topic", "topic"),
        ("canonical_alias", "m.room.canonical_alias", "alias"),
        ("avatar_url", "m.room.avatar", "url"),
        ("join_rule", "m.room.join_rules", "join_rule"),
        ("history_visibility", "m.room.history_visibility", "history_visibility"),
        ("encryption", "m.room.encryption", "algorithm"),
        ("tombstone_successor", "m.room.tombstone", "replacement_room"),
    ];

    public async Task<List<CheckResult>> CheckAsync(CheckMode mode, long seed, CancellationToken ct)
    {
        var phase = mode == CheckMode.AtQuiescence ? "at quiescence" : "after resync";
        var results = new List<CheckResult>();
        foreach (var expected in Expect(mode))
        {
            var name = $"{phase}: room {expected.RoomId}";
            var actual = await admin.GetRoomAsync(expected.RoomId, ct);
            if (!expected.Known)
            {
                results.Add(new CheckResult($"{name} unknown", actual is null,
                    $"seed {seed}: the bot was never invited, nothing was pushed; the service has the room (bot_membership '{actual?.Fields.GetValueOrDefault("bot_membership")}')"));
                continue;
            }
            if (actual is null)
            {
                results.Add(new CheckResult($"{name} exists", false, $"seed {seed}: the bot was invited, the service has no such room (404)"));
                continue;
            }
            Compare(results, name, "bot_membership", expected.BotMembership, actual.Fields.GetValueOrDefault("bot_membership"), seed, expected.RoomId);
            if (expected.BotMembership == "invite")
            {
                results.Add(new CheckResult($"{name} invite accepted", false,
                    $"seed {seed}: the bot is still invited at quiescence; the service never joined (AutoJoin)"));
            }
            results.Add(new CheckResult($"{name} suspect", actual.Suspect == false,
                $"seed {seed}: suspect is {actual.Suspect?.ToString() ?? "absent"} with no job open, bot membership {expected.BotMembership}"
                + (actual.Suspect == false ? "" : $" [history: {world.History(expected.RoomId, ("bot", ""))}]")));
            if (expected.BotMembership == "join")
            {
                foreach (var (field, value) in expected.Fields)
                {
                    Compare(results, name, field, value, actual.Fields.GetValueOrDefault(field), seed, expected.RoomId);
                }
                if (mode == CheckMode.AfterResync)
                {
                    Compare(results, name, "joined_member_count", expected.Members.Values.Count(m => m.Membership == "join").ToString(),
                        actual.JoinedMemberCount?.ToString(), seed);
                    Compare(results, name, "invited_member_count", expected.Members.Values.Count(m => m.Membership == "invite").ToString(),
                        actual.InvitedMemberCount?.ToString(), seed);
                }
            }
            var rows = (await admin.GetMembersAsync(expected.RoomId, null, ct)).ToDictionary(m => m.UserId, StringComparer.Ordinal);
            var differences = new List<string>();
            foreach (var (user, member) in expected.Members.OrderBy(m => m.Key, StringComparer.Ordinal))
            {
                if (!rows.TryGetValue(user, out var row))
                {
                    differences.Add($"{user}: missing (expected {member.Membership} {member.EventId})");
                }
                else if (row.Membership != member.Membership || row.Displayname != member.Displayname
                         || row.AvatarUrl != member.AvatarUrl || row.EventId != member.EventId)
                {
                    differences.Add($"{user}: expected {Describe(member.Membership, member.Displayname, member.AvatarUrl, member.EventId)}, "
                                    + $"service has {Describe(row.Membership, row.Displayname, row.AvatarUrl, row.EventId)}"
                                    + $" [history: {world.History(expected.RoomId, ("m.room.member", user))}]");
                }
            }
            foreach (var user in rows.Keys.Where(u => !expected.Members.ContainsKey(u) && !expected.SkippedMembers.Contains(u)).Order(StringComparer.Ordinal))
            {
                differences.Add($"{user}: extra row {Describe(rows[user].Membership, rows[user].Displayname, rows[user].AvatarUrl, rows[user].EventId)}"
                                + (expected.BotMembership == "join" ? "" : $" (bot membership {expected.BotMembership}: no rows expected)")
                                + $" [history: {world.History(expected.RoomId, ("m.room.member", user))}]");
            }
            results.Add(new CheckResult($"{name} members", differences.Count == 0,
                $"seed {seed}: {string.Join("; ", differences)}"));
        }
        return results;
    }

    private void Compare(List<CheckResult> results, string name, string field, string? expected, string? actual, long seed, string roomId = "")
    {
        var type = InfoFields.FirstOrDefault(f => f.Field == field).Type;
        results.Add(new CheckResult($"{name} {field}", expected == actual,
            $"seed {seed}: expected {Quote(expected)}, service has {Quote(actual)}"
            + (expected == actual ? "" : $" [history: {world.History(roomId, (type ?? field, type is null ? "-" : ""))}]")));
    }

    private static string Quote(string? s) => s is null ? "null" : $"'{s}'";

    private static string Describe(string? membership, string? displayname, string? avatar, string? eventId) =>
        $"{membership ?? "null"} {Quote(displayname)} {Quote(avatar)} {eventId}";

    /// <summary>What the service must hold for every room, read from the homeserver's state under its lock.</summary>
    private List<ExpectedRoom> Expect(CheckMode mode)
    {
        lock (world.Gate)
        {
            var rooms = new List<ExpectedRoom>();
            foreach (var room in world.Rooms.Values.OrderBy(r => r.RoomId, StringComparer.Ordinal))
            {
                var expected = new ExpectedRoom(room.RoomId, room.BotInvitedOnce, room.BotMembership);
                rooms.Add(expected);
                if (!room.BotInvitedOnce || room.BotMembership != "join")
                {
                    continue;
                }
                bool Hidden((string, string) key) =>
                    mode == CheckMode.AtQuiescence && room.HiddenSince.TryGetValue(key, out var since) && since > room.BotLastJoinIndex;
                foreach (var (field, type, property) in InfoFields)
                {
                    if (Hidden((type, "")))
                    {
                        continue;
                    }
                    var value = room.State.TryGetValue((type, ""), out var e) ? HomeserverState.ReadString(e.Content, property) : null;
                    expected.Fields[field] = string.IsNullOrEmpty(value) ? null : value;
                }
                if (room.State.TryGetValue(("m.room.create", ""), out var create))
                {
                    var version = HomeserverState.ReadString(create.Content, "room_version") ?? "1";
                    expected.Fields["room_version"] = version;
                    expected.Fields["creator"] = version is "1" or "2" or "3" or "4" or "5" or "6" or "7" or "8" or "9" or "10"
                        ? HomeserverState.ReadString(create.Content, "creator")
                        : create.Sender;
                }
                foreach (var (key, member) in room.State.Where(s => s.Key.Type == "m.room.member"))
                {
                    if (Hidden(key))
                    {
                        expected.SkippedMembers.Add(key.StateKey);
                        continue;
                    }
                    expected.Members[key.StateKey] = new MemberRow(key.StateKey, HsRoom.MembershipOf(member) ?? "",
                        HomeserverState.ReadString(member.Content, "displayname"), HomeserverState.ReadString(member.Content, "avatar_url"),
                        member.EventId!);
                }
            }
            return rooms;
        }
    }

    private sealed record ExpectedRoom(string RoomId, bool Known, string? BotMembership)
    {
        public Dictionary<string, string?> Fields { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, MemberRow> Members { get; } = new(StringComparer.Ordinal);

        public HashSet<string> SkippedMembers { get; } = new(StringComparer.Ordinal);
    }
}
