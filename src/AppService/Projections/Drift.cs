namespace AppService.Projections;

/// <summary>One entry of the homeserver's <c>/joined_members</c> answer.</summary>
public sealed record JoinedMember(string? DisplayName, string? AvatarUrl);

/// <summary>
/// How our joined members differ from the homeserver's, as user ids, and which room-state types of RoomInfo differ
/// from its <c>/state</c> (<see cref="StateDiffers"/>, event types).
/// </summary>
public sealed record DriftReport(IReadOnlyList<string> Missing, IReadOnlyList<string> Extra, IReadOnlyList<string> ProfileDiffers)
{
    public IReadOnlyList<string> StateDiffers { get; init; } = [];

    public bool Found => Missing.Count > 0 || Extra.Count > 0 || ProfileDiffers.Count > 0 || StateDiffers.Count > 0;

    /// <summary>A short line for logs and the job's detail, naming at most a few users per kind.</summary>
    public string Describe() =>
        $"{Missing.Count} missing{Sample(Missing)}, {Extra.Count} extra{Sample(Extra)}, {ProfileDiffers.Count} with another profile{Sample(ProfileDiffers)}"
        + (StateDiffers.Count > 0 ? $"; room state differs: {string.Join(", ", StateDiffers)}" : "");

    private static string Sample(IReadOnlyList<string> users) =>
        users.Count == 0 ? "" : $" ({string.Join(", ", users.Take(3))}{(users.Count > 3 ? ", ..." : "")})";
}

/// <summary>What a drift check found, as labels for the job's detail and <c>appservice_drift_found_total{kind}</c>.</summary>
public static class DriftKinds
{
    /// <summary>The homeserver holds an event we never processed (lost, or not pushed yet), or a member differs (no ids to tell more).</summary>
    public const string MissedEvents = "missed_events";

    /// <summary>The homeserver's current event for a key is older than ours, or the key vanished: state changed with no event.</summary>
    public const string StateReset = "state_reset";

    /// <summary>We processed the homeserver's current event for a key but hold an older one (a snapshot or a skipped event left it behind).</summary>
    public const string StaleSnapshot = "stale_snapshot";

    /// <summary>The homeserver says the bot is not joined to a room we hold as joined.</summary>
    public const string BotMembership = "bot_membership";

    public static readonly IReadOnlyList<string> All = [MissedEvents, StateReset, StaleSnapshot, BotMembership];
}

/// <summary>
/// The drift check: our joined member rows against the homeserver's <c>/joined_members</c>. A row whose event was
/// processed after the fetch started (<c>keepSetSince</c>) is newer than the answer and never counts as drift,
/// the same rule as the resync's.
/// </summary>
public static class Drift
{
    public static DriftReport Compare(IReadOnlyList<SeenMember> ours, IReadOnlyDictionary<string, JoinedMember> joined, long keepSetSince)
    {
        var byUser = ours.ToDictionary(m => m.Member.UserId, StringComparer.Ordinal);
        var missing = new List<string>();
        var differs = new List<string>();
        foreach (var (userId, profile) in joined.OrderBy(j => j.Key, StringComparer.Ordinal))
        {
            if (!byUser.TryGetValue(userId, out var seen))
            {
                missing.Add(userId);
            }
            else if (seen.SetAt > keepSetSince)
            {
                continue;
            }
            else if (seen.Member.Membership != Matrix.Memberships.Join)
            {
                missing.Add(userId);
            }
            else if (seen.Member.DisplayName != profile.DisplayName || seen.Member.AvatarUrl != profile.AvatarUrl)
            {
                differs.Add(userId);
            }
        }

        var extra = ours
            .Where(m => m.Member.Membership == Matrix.Memberships.Join && !joined.ContainsKey(m.Member.UserId) && !(m.SetAt > keepSetSince))
            .Select(m => m.Member.UserId)
            .Order(StringComparer.Ordinal)
            .ToList();
        return new DriftReport(missing, extra, differs);
    }

    /// <summary>
    /// The room-state types RoomInfo is projected from (name, topic, alias, avatar, join rule, history visibility,
    /// encryption, tombstone, power levels) whose projected value differs from what the homeserver's <c>/state</c>
    /// gives, projected by the same rules as a resync. A type whose <c>room_state</c> row was set by an event
    /// processed after the fetch started (<paramref name="keepSetSince"/>) is newer than the answer and never counts.
    /// The create event is not compared: it never changes.
    /// </summary>
    public static IReadOnlyList<string> CompareRoomState(
        RoomInfo ours, IReadOnlyList<Matrix.MatrixEvent> snapshotState, IReadOnlyList<SeenState> state, long keepSetSince, DateTimeOffset now)
    {
        var newer = state
            .Where(s => s.StateKey.Length == 0 && s.SetAt > keepSetSince)
            .Select(s => s.Type)
            .ToHashSet(StringComparer.Ordinal);
        var snapshot = snapshotState
            .Where(e => e.StateKey == "" && RoomInfoProjector.Handles(e.Type))
            .GroupBy(e => e.Type, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);

        var differs = new List<string>();
        foreach (string type in RoomInfoProjector.Types)
        {
            if (type == Matrix.EventTypes.Create || newer.Contains(type))
            {
                continue;
            }

            var expected = snapshot.TryGetValue(type, out var e) ? RoomInfoProjector.Apply(ours, e, now) : RoomInfoProjector.Absent(ours, type, now);
            if (FieldOf(expected, type) != FieldOf(ours, type))
            {
                differs.Add(type);
            }
        }

        return differs;
    }

    /// <summary>
    /// Labels a drift: for each room-state type that differs, the homeserver's current event (from <c>/state</c>) is
    /// compared with ours by processing order (<paramref name="processedSeq"/>: the <c>processed_events.seq</c> of the
    /// homeserver's ids we processed). Member differences carry no event ids (<c>/joined_members</c>): missed events.
    /// </summary>
    public static IReadOnlyList<string> Classify(
        DriftReport report, IReadOnlyList<Matrix.MatrixEvent> snapshotState, IReadOnlyList<SeenState> ours, IReadOnlyDictionary<string, long> processedSeq)
    {
        var kinds = new SortedSet<string>(StringComparer.Ordinal);
        if (report.Missing.Count > 0 || report.Extra.Count > 0 || report.ProfileDiffers.Count > 0)
        {
            kinds.Add(DriftKinds.MissedEvents);
        }

        foreach (string type in report.StateDiffers)
        {
            var theirs = snapshotState.LastOrDefault(e => e.Type == type && e.StateKey == "");
            var mine = ours.FirstOrDefault(s => s.Type == type && s.StateKey.Length == 0);
            if (theirs is null)
            {
                kinds.Add(DriftKinds.StateReset); // no event can remove a state key
            }
            else if (!processedSeq.TryGetValue(theirs.EventId, out long theirSeq) || theirs.EventId == mine?.EventId)
            {
                kinds.Add(DriftKinds.MissedEvents); // an event we never got, or a redaction of the one we hold
            }
            else if (mine?.SetAt is { } mySeq && theirSeq > mySeq)
            {
                kinds.Add(DriftKinds.StaleSnapshot);
            }
            else
            {
                kinds.Add(DriftKinds.StateReset);
            }
        }

        return [.. kinds];
    }

    private static string? FieldOf(RoomInfo room, string type) => type switch
    {
        Matrix.EventTypes.Name => room.Name,
        Matrix.EventTypes.Topic => room.Topic,
        Matrix.EventTypes.CanonicalAlias => room.CanonicalAlias,
        Matrix.EventTypes.Avatar => room.AvatarUrl,
        Matrix.EventTypes.JoinRules => room.JoinRule,
        Matrix.EventTypes.HistoryVisibility => room.HistoryVisibility,
        Matrix.EventTypes.Encryption => room.Encryption,
        Matrix.EventTypes.Tombstone => room.TombstoneSuccessor,
        Matrix.EventTypes.PowerLevels => room.PowerLevels,
        _ => null,
    };
}
