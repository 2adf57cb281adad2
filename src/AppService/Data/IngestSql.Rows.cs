using System.Globalization;
using AppService.Matrix;
using AppService.Projections;
using Npgsql;
using NpgsqlTypes;
using static AppService.Data.SqlParameters;

namespace AppService.Data;

/// <summary>The ingest's rows as statement parameters (one array per column) and back from result rows.</summary>
public static partial class IngestSql
{
    public static NpgsqlBatchCommand InsertRejectedCommand(IReadOnlyList<RejectedEvent> rejected, string txnId, DateTimeOffset now) =>
        Command(
            InsertRejected,
            [
                .. TextColumns(rejected, r => MatrixText.StorableId(r.EventId), r => MatrixText.StorableId(r.RoomId), r => MatrixText.StorableId(r.Type), r => r.Reason),
                Text(txnId),
                TextArray(Column(rejected, r => r.RawJson)),
                Timestamp(now),
                TextArray(Column(rejected, r => r.Code)),
                new NpgsqlParameter { Value = rejected.Select(r => r.ContentBytes).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer },
            ]);

    public static NpgsqlBatchCommand InsertPendingRedactionsCommand(IReadOnlyList<PendingRedactionRef> pending, DateTimeOffset now) =>
        Command(
            InsertPendingRedactions,
            [.. TextColumns(pending, p => p.TargetEventId, p => p.RoomId, p => p.RedactionEventId, p => p.Sender), Timestamp(now)]);

    public static NpgsqlBatchCommand RedactRejectedCommand(IReadOnlyList<MatrixEvent> redactions) =>
        Command(RedactRejected, [.. TextColumns(redactions, r => r.Redacts, r => r.RoomId, r => r.EventId)]);

    /// <summary>Every column of the rooms, in the order of <see cref="UpsertRooms"/>'s parameters.</summary>
    public static NpgsqlBatchCommand UpsertRoomsCommand(IReadOnlyList<RoomInfo> rooms) => Command(
        UpsertRooms,
        [
            .. TextColumns(
                rooms,
                r => r.RoomId, r => r.Name, r => r.Topic, r => r.CanonicalAlias, r => r.AvatarUrl, r => r.JoinRule,
                r => r.HistoryVisibility, r => r.Encryption, r => r.RoomVersion, r => r.Creator, r => r.RoomType,
                r => r.PredecessorRoomId, r => r.TombstoneSuccessor, r => r.BotMembership),
            TimestampArray(rooms.Select(r => r.UpdatedAt)),
            TextArray(Column(rooms, r => r.StateSource)),
            BoolArray(rooms.Select(r => r.Suspect)),
            NullableTimestampArray(rooms.Select(r => r.LastSyncedAt)),
            .. TextColumns(rooms, r => r.Creators is { } creators ? string.Join('\n', creators) : null, r => r.PowerLevels),
        ]);

    /// <summary>
    /// Upserts room_state rows (sorted by key, so concurrent writers lock in one order), each with the sender of its
    /// event as <paramref name="senderOf"/> knows it (null: not known).
    /// </summary>
    public static NpgsqlBatchCommand UpsertStateCommand(
        IEnumerable<KeyValuePair<(string RoomId, string Type, string StateKey), string>> rows, Func<string, string?>? senderOf = null)
    {
        var state = rows
            .OrderBy(s => s.Key.RoomId, StringComparer.Ordinal)
            .ThenBy(s => s.Key.Type, StringComparer.Ordinal)
            .ThenBy(s => s.Key.StateKey, StringComparer.Ordinal)
            .ToList();
        return Command(
            UpsertState,
            [.. TextColumns(state, s => s.Key.RoomId, s => s.Key.Type, s => s.Key.StateKey, s => s.Value, s => senderOf?.Invoke(s.Value))]);
    }

    public static NpgsqlBatchCommand UpsertMembersCommand(IReadOnlyList<RoomMember> members) => Command(
        UpsertMembers,
        [
            .. TextColumns(members, m => m.RoomId, m => m.UserId, m => m.Membership, m => m.DisplayName, m => m.AvatarUrl, m => m.EventId, m => m.Sender),
            TimestampArray(members.Select(m => m.UpdatedAt)),
        ]);

    /// <summary>A row of <see cref="SelectRooms"/> (its column order).</summary>
    public static RoomInfo ReadRoom(NpgsqlDataReader r) => new(r.GetString(0))
    {
        Name = NullableString(r, 1), Topic = NullableString(r, 2), CanonicalAlias = NullableString(r, 3), AvatarUrl = NullableString(r, 4),
        JoinRule = NullableString(r, 5), HistoryVisibility = NullableString(r, 6), Encryption = NullableString(r, 7),
        RoomVersion = NullableString(r, 8), Creator = NullableString(r, 9), RoomType = NullableString(r, 10),
        PredecessorRoomId = NullableString(r, 11), TombstoneSuccessor = NullableString(r, 12), BotMembership = NullableString(r, 13),
        UpdatedAt = r.GetFieldValue<DateTimeOffset>(14), StateSource = NullableString(r, 15), Suspect = r.GetBoolean(16),
        LastSyncedAt = r.IsDBNull(17) ? null : r.GetFieldValue<DateTimeOffset>(17),
        Creators = r.IsDBNull(18) ? null : r.GetFieldValue<string[]>(18), PowerLevels = NullableString(r, 19),
    };

    public static RoomMember ReadMember(NpgsqlDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2))
    {
        DisplayName = NullableString(r, 3),
        AvatarUrl = NullableString(r, 4),
        EventId = r.GetString(5),
        Sender = r.GetString(6),
        UpdatedAt = r.GetFieldValue<DateTimeOffset>(7),
    };

    /// <summary>
    /// The redaction-target column of <see cref="InsertProcessedEvents"/>: the key the redacted event is the current
    /// state of, and for a member event the row it set, with its stored <c>updated_at</c>: the change log records it
    /// as the row's <c>prev_updated_at</c> when the redaction changes the row (<c>members?at=</c> answers it for a time
    /// before the redaction once earlier changes have aged out). A row this batch's member events touch is loaded
    /// again, whole, by <see cref="SelectMembers"/> right after.
    /// </summary>
    public static ((string RoomId, string Type, string StateKey) Key, RoomMember? Member, string? Sender) ReadRedactionTarget(
        NpgsqlDataReader r, int ordinal)
    {
        // room_id, event_type, state_key, membership, displayname, avatar_url, event_id, sender (member row), sender
        // (room_state), updated_at of the member row (microseconds since the Unix epoch)
        string?[] t = r.GetFieldValue<string?[]>(ordinal);
        var member = t[3] is { } membership
            ? new RoomMember(t[0]!, t[2]!, membership)
            {
                DisplayName = t[4], AvatarUrl = t[5], EventId = t[6]!, Sender = t[7]!,
                UpdatedAt = DateTimeOffset.UnixEpoch.AddTicks(long.Parse(t[9]!, CultureInfo.InvariantCulture) * TimeSpan.TicksPerMicrosecond),
            }
            : null;
        return ((t[0]!, t[1]!, t[2]!), member, t.Length > 8 ? t[8] : null);
    }

    /// <summary>One text[] parameter per selector: the rows' values of that column.</summary>
    private static IEnumerable<NpgsqlParameter> TextColumns<T>(IReadOnlyList<T> rows, params Func<T, string?>[] columns) =>
        columns.Select(column => TextArray(Column(rows, column)));

    private static string?[] Column<T>(IReadOnlyList<T> rows, Func<T, string?> selector)
    {
        var result = new string?[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            result[i] = selector(rows[i]);
        }

        return result;
    }

    private static string? NullableString(NpgsqlDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);
}
