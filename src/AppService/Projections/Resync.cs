using AppService.Matrix;

namespace AppService.Projections;

/// <summary>
/// A stored member row and the processing order of the event that set it (<c>processed_events.seq</c>, from the
/// database sequence <c>processing_order</c>; null: unknown, e.g. processed before the sequence existed).
/// </summary>
public sealed record SeenMember(RoomMember Member, long? SetAt);

/// <summary>
/// A stored room_state row and the processing order of the event it names (null: unknown). Never a member key: those
/// are the member rows (<see cref="SeenMember"/>).
/// </summary>
public sealed record SeenState(string Type, string StateKey, string EventId, long? SetAt)
{
    /// <summary>The sender of the event, if stored (<c>room_state.sender</c>).</summary>
    public string? Sender { get; init; }
}

/// <summary>
/// What a resync writes: only rows that change, and the deletions. Rows newer than the snapshot are not in it. The
/// state upserts and deletes never name a member key (member events are stored once, in the member rows).
/// </summary>
public sealed record ResyncPlan(
    RoomInfo Room,
    IReadOnlyList<RoomMember> MemberUpserts,
    IReadOnlyList<string> MemberDeletes,
    IReadOnlyList<KeyValuePair<(string RoomId, string Type, string StateKey), string>> StateUpserts,
    IReadOnlyList<(string Type, string StateKey)> StateDeletes,
    int KeptNewer)
{
    /// <summary>The sender of each event id in <see cref="StateUpserts"/> (for <c>room_state.sender</c>).</summary>
    public IReadOnlyDictionary<string, string> StateSenders { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// The event id of every key after the resync. Only snapshot events among these may be recorded as processed: a
    /// snapshot event for a key where a newer pushed row was kept has not been applied, and when the homeserver
    /// pushes it after the row we kept, it must not be taken for a duplicate.
    /// </summary>
    public IReadOnlySet<string> CurrentEventIds { get; init; } = new HashSet<string>(StringComparer.Ordinal);
}

/// <summary>
/// Replaces a room's projection with a snapshot of the homeserver's state (<c>/members</c> and <c>/state</c>), as a
/// pure function of the snapshot and the rows we hold.
/// <para>
/// The race rule: the snapshot is fetched outside any transaction, while pushed events keep being applied. A row
/// whose setting event was processed after <c>keepSetSince</c> (the value the database sequence
/// <c>processing_order</c> gave the resync just before its fetch started; every processed event takes the next
/// value too) may be newer than the snapshot, so it is kept as it is; every other row is replaced or deleted by the
/// snapshot. Processing order, not time: no replica's clock (skewed, or stepped) decides anything. An event with a
/// smaller number was pushed before the fetch started, so the homeserver had already persisted it: the snapshot
/// shows it or something newer. Both sides write under the room's advisory lock, so this is decided on rows that
/// cannot change underneath. Keeping a row the snapshot already covers costs nothing: the event that made the
/// snapshot differ (if any) is on its way to us, pushed after the one we hold.
/// </para>
/// </summary>
public static class Resync
{
    public static ResyncPlan Plan(
        RoomInfo room,
        IReadOnlyList<MatrixEvent> snapshotMembers,
        IReadOnlyList<MatrixEvent> snapshotState,
        IReadOnlyList<SeenMember> members,
        IReadOnlyList<SeenState> state,
        string botUserId,
        long keepSetSince,
        DateTimeOffset snapshotAt,
        DateTimeOffset now)
    {
        bool Newer(long? setAt) => setAt > keepSetSince;
        string roomId = room.RoomId;
        int keptNewer = 0;

        // Members: newer rows stay, the snapshot decides the rest.
        var current = members.ToDictionary(m => m.Member.UserId, StringComparer.Ordinal);
        var final = new Dictionary<string, RoomMember>(StringComparer.Ordinal);
        foreach (var seen in members.Where(m => Newer(m.SetAt)))
        {
            final[seen.Member.UserId] = seen.Member;
            keptNewer++;
        }

        var memberUpserts = new Dictionary<string, RoomMember>(StringComparer.Ordinal);
        foreach (var e in snapshotMembers)
        {
            if (e.Type != EventTypes.Member || e.StateKey is null || (current.TryGetValue(e.StateKey, out var held) && Newer(held.SetAt)))
            {
                continue;
            }

            var (row, _) = MembershipProjector.Apply(null, e, now);
            final[row.UserId] = row;
            if (held is null || !SameMember(held.Member, row))
            {
                memberUpserts[row.UserId] = row;
            }
            else
            {
                memberUpserts.Remove(row.UserId);
            }
        }

        // The snapshot says the bot is not joined (it was kicked or left, and the homeserver answers as of then): the
        // room keeps no member data, as when the bot's leave is pushed.
        string? botMembership = final.TryGetValue(botUserId, out var botRow) ? botRow.Membership : null;
        if (botMembership is not null && botMembership != Memberships.Join)
        {
            final.Clear();
            memberUpserts.Clear();
        }

        var memberDeletes = current.Keys.Where(u => !final.ContainsKey(u)).Order(StringComparer.Ordinal).ToList();

        // State ids (room_state): every key but the member keys, which the final member rows hold (room_members.event_id:
        // member events are stored once). They follow the snapshot unless newer.
        var heldState = state.Where(s => s.Type != EventTypes.Member).ToDictionary(s => (s.Type, s.StateKey));
        var finalState = new Dictionary<(string Type, string StateKey), string>();
        var senders = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var s in heldState.Values.Where(s => Newer(s.SetAt)))
        {
            finalState[(s.Type, s.StateKey)] = s.EventId;
            keptNewer++;
        }

        foreach (var e in snapshotState)
        {
            if (e.Type != EventTypes.Member && e.StateKey is not null && !IsNewer((e.Type, e.StateKey)))
            {
                finalState[(e.Type, e.StateKey)] = e.EventId;
                if (e.Sender.Length > 0)
                {
                    senders[e.EventId] = e.Sender;
                }
            }
        }

        // A row is written if its event changes, or if the snapshot tells the sender a row stored without one lacks.
        var stateUpserts = finalState
            .Where(s => !heldState.TryGetValue(s.Key, out var h) || h.EventId != s.Value || (h.Sender is null && senders.ContainsKey(s.Value)))
            .Select(s => KeyValuePair.Create((roomId, s.Key.Type, s.Key.StateKey), s.Value))
            .ToList();
        var stateDeletes = heldState.Keys.Where(k => !finalState.ContainsKey(k)).ToList();

        // RoomInfo: per event type, the newer pushed value stays; otherwise the snapshot's, or nothing if absent.
        var snapshotInfo = snapshotState
            .Where(e => e.StateKey == "" && RoomInfoProjector.Handles(e.Type))
            .GroupBy(e => e.Type, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        var next = room;
        foreach (string type in RoomInfoProjector.Types)
        {
            if (IsNewer((type, "")))
            {
                continue;
            }

            next = snapshotInfo.TryGetValue(type, out var e)
                ? RoomInfoProjector.Apply(next, e, now)
                : RoomInfoProjector.Absent(next, type, now);
        }

        next = next with
        {
            BotMembership = botMembership ?? next.BotMembership,
            StateSource = StateSources.Homeserver,
            Suspect = false,
            LastSyncedAt = snapshotAt,
            UpdatedAt = now,
        };

        return new ResyncPlan(
            next,
            memberUpserts.Values.OrderBy(m => m.UserId, StringComparer.Ordinal).ToList(),
            memberDeletes,
            stateUpserts,
            stateDeletes,
            keptNewer)
        {
            StateSenders = senders,
            CurrentEventIds = finalState.Values.Concat(final.Values.Select(m => m.EventId)).ToHashSet(StringComparer.Ordinal),
        };

        bool IsNewer((string Type, string StateKey) key) => heldState.TryGetValue(key, out var h) && Newer(h.SetAt);
    }

    private static bool SameMember(RoomMember a, RoomMember b) =>
        a.Membership == b.Membership && a.DisplayName == b.DisplayName && a.AvatarUrl == b.AvatarUrl
        && a.EventId == b.EventId && a.Sender == b.Sender;
}
