using AppService.Matrix;

namespace AppService.Projections;

/// <summary>Why a change row was written (<c>change_log.cause</c>).</summary>
public static class ChangeCauses
{
    /// <summary>A pushed event set the row.</summary>
    public const string Event = "event";

    /// <summary>A resync replaced the row with the homeserver's snapshot.</summary>
    public const string Resync = "resync";

    /// <summary>A redaction of the row's current event removed content from it.</summary>
    public const string Redaction = "redaction";

    /// <summary>The bot left the room (or was kicked or banned): its member rows were deleted.</summary>
    public const string Purge = "purge";
}

/// <summary>The kinds of change row.</summary>
public static class ChangeKinds
{
    public const string Member = "member";
    public const string Room = "room";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { Member, Room };
}

/// <summary>
/// One change of a member row: <paramref name="Row"/> is the row as written (null: deleted), <paramref name="Before"/>
/// the row as it was (null: there was none).
/// </summary>
public sealed record MemberChange(string RoomId, string UserId, RoomMember? Row, RoomMember? Before, string Cause);

/// <summary>
/// One change of a room row: the RoomInfo fields that changed (<see cref="ChangeLog.RoomFields"/>), with their new
/// values (null: the field was cleared), keyed by their wire names.
/// </summary>
public sealed record RoomChange(string RoomId, string? EventId, string Cause, IReadOnlyDictionary<string, object?> Changed);

/// <summary>What one transaction changed in the projection, in the order it is appended to the change log.</summary>
public sealed record ChangeSet(IReadOnlyList<MemberChange> Members, IReadOnlyList<RoomChange> Rooms)
{
    public static readonly ChangeSet Empty = new([], []);

    public bool IsEmpty => Members.Count == 0 && Rooms.Count == 0;
}

/// <summary>
/// The change log as a diff: rows as loaded against rows as written, for the ingest and for a resync. Pure functions
/// of what the writer already holds, so the log never depends on how a projection decided its rows: whatever
/// <see cref="ProjectionBatch.Apply"/> or <see cref="Resync.Plan"/> do, what changed is what is logged, and a change
/// that changes nothing (a duplicate, a replay, a refused redaction) logs nothing. The member rows a purge deletes are
/// not loaded by the ingest: <c>ChangeSql.InsertChanges</c> logs them from the table, in the same batch, just
/// before the delete.
/// </summary>
public static class ChangeLog
{
    /// <summary>The RoomInfo fields a room change reports, by wire name.</summary>
    public static readonly IReadOnlyList<(string Name, Func<RoomInfo, object?> Value)> RoomFields =
    [
        ("name", r => r.Name),
        ("topic", r => r.Topic),
        ("canonical_alias", r => r.CanonicalAlias),
        ("avatar_url", r => r.AvatarUrl),
        ("join_rule", r => r.JoinRule),
        ("history_visibility", r => r.HistoryVisibility),
        ("encryption", r => r.Encryption),
        ("room_version", r => r.RoomVersion),
        ("creators", r => r.Creators),
        ("tombstone_successor", r => r.TombstoneSuccessor),
        ("bot_membership", r => r.BotMembership),
    ];

    /// <summary>
    /// The changes of one ingest: every dirty member row against the row as loaded (none if its room was purged in
    /// this batch: the purge logs the deletion first), every dirty room row against the row as loaded.
    /// </summary>
    /// <param name="applied">The new events, in the order they were applied (to name the event behind a room change).</param>
    public static ChangeSet ForIngest(ProjectionBatch projection, IReadOnlyList<MatrixEvent> applied)
    {
        var redacted = projection.Redactions.Select(r => r.EventId).ToHashSet(StringComparer.Ordinal);
        var members = new List<MemberChange>();
        foreach (var row in projection.DirtyMembers)
        {
            var before = projection.PurgedRooms.Contains(row.RoomId) ? null : projection.LoadedMember(row.RoomId, row.UserId);
            if (before is not null && SameMember(before, row))
            {
                continue;
            }

            string cause = redacted.Contains(row.EventId) ? ChangeCauses.Redaction : ChangeCauses.Event;
            members.Add(new MemberChange(row.RoomId, row.UserId, row, before, cause));
        }

        var rooms = new List<RoomChange>();
        foreach (var row in projection.DirtyRooms)
        {
            var before = projection.LoadedRoom(row.RoomId);
            var changed = Diff(before, row);
            if (before is not null && changed.Count == 0)
            {
                continue;
            }

            var by = LastRoomEvent(row.RoomId, applied, projection);
            rooms.Add(new RoomChange(
                row.RoomId, by?.EventId, by?.Type == EventTypes.Redaction ? ChangeCauses.Redaction : ChangeCauses.Event, changed));
        }

        return new ChangeSet(members, rooms);
    }

    /// <summary>
    /// Per purged room, the event that purged it (the bot's last leave or ban in the batch), named by the change rows
    /// of the member rows the purge deletes.
    /// </summary>
    public static IReadOnlyList<(string RoomId, string? EventId)> PurgeEvents(ProjectionBatch projection, IReadOnlyList<MatrixEvent> applied) =>
        projection.PurgedRooms.Order(StringComparer.Ordinal)
            .Select(roomId => (roomId, applied.LastOrDefault(e =>
                e.RoomId == roomId && e.Type == EventTypes.Member && e.StateKey == projection.BotUserId)?.EventId))
            .ToList();

    /// <summary>The changes of one resync: its upserts and deletes against the rows it read under the room lock.</summary>
    public static ChangeSet ForResync(RoomInfo? before, IReadOnlyList<SeenMember> seen, ResyncPlan plan)
    {
        var held = seen.ToDictionary(s => s.Member.UserId, s => s.Member, StringComparer.Ordinal);
        var members = new List<MemberChange>();
        foreach (string userId in plan.MemberDeletes)
        {
            members.Add(new MemberChange(plan.Room.RoomId, userId, null, held.GetValueOrDefault(userId), ChangeCauses.Resync));
        }

        foreach (var row in plan.MemberUpserts)
        {
            var old = held.GetValueOrDefault(row.UserId);
            if (old is null || !SameMember(old, row))
            {
                members.Add(new MemberChange(row.RoomId, row.UserId, row, old, ChangeCauses.Resync));
            }
        }

        var changed = Diff(before, plan.Room);
        var rooms = before is not null && changed.Count == 0
            ? []
            : new List<RoomChange> { new(plan.Room.RoomId, null, ChangeCauses.Resync, changed) };
        return new ChangeSet(members, rooms);
    }

    /// <summary>The reported fields that differ (all non-null ones for a new row), with their new values.</summary>
    public static IReadOnlyDictionary<string, object?> Diff(RoomInfo? before, RoomInfo after)
    {
        var changed = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in RoomFields)
        {
            object? next = value(after);
            if (before is null ? next is not null : !SameValue(value(before), next))
            {
                changed[name] = next;
            }
        }

        return changed;
    }

    /// <summary>What a member change reports: membership, profile and the event that set the row.</summary>
    public static bool SameMember(RoomMember a, RoomMember b) =>
        a.Membership == b.Membership && a.DisplayName == b.DisplayName && a.AvatarUrl == b.AvatarUrl && a.EventId == b.EventId;

    private static bool SameValue(object? a, object? b) => (a, b) switch
    {
        (string[] x, string[] y) => x.AsSpan().SequenceEqual(y),
        _ => Equals(a, b),
    };

    /// <summary>
    /// The last applied event that can change the room's reported fields: a room-info state event, the bot's member
    /// event, or a redaction of the room's state.
    /// </summary>
    private static MatrixEvent? LastRoomEvent(string roomId, IReadOnlyList<MatrixEvent> applied, ProjectionBatch projection)
    {
        for (int i = applied.Count - 1; i >= 0; i--)
        {
            var e = applied[i];
            if (e.RoomId != roomId)
            {
                continue;
            }

            if ((e.IsState && e.StateKey!.Length == 0 && RoomInfoProjector.Handles(e.Type))
                || (e.IsState && e.Type == EventTypes.Member && e.StateKey == projection.BotUserId)
                || (e.Type == EventTypes.Redaction && projection.Redactions.Any(r => r.RoomId == roomId && r.EventId == e.Redacts && r.StateKey.Length == 0)))
            {
                return e;
            }
        }

        return null;
    }
}
