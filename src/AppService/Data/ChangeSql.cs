using System.Text.Json;
using AppService.Projections;
using Npgsql;
using NpgsqlTypes;
using static AppService.Data.SqlParameters;

namespace AppService.Data;

/// <summary>
/// The change log (<c>change_log</c>, docs/change-feed.md): written by the ingest and the resync in the same commit as
/// the projection, read by the feed, the membership history and <c>members?at=</c>, aged out by retention.
/// <para>
/// The order: every row carries the id of the transaction that wrote it (<c>xid</c>, <c>pg_current_xact_id()</c>)
/// and a number from an identity sequence (<c>position</c>). Readers see only rows whose xid is below
/// <c>pg_snapshot_xmin(pg_current_snapshot())</c>: every transaction below it has ended, and every transaction still
/// to commit has a larger xid. So the set of rows up to any handed-out key is final, and a cursor (xid, position)
/// never skips a row that commits later, whatever order the writers commit in. Writers of one room take the room's
/// advisory lock before their first write (<see cref="IngestSql.LockKeys"/> comes before any write of the ingest and
/// of the resync; only the ingest's planner settings, which write nothing and take no xid, run before it), so for one
/// room xid order is commit order.
/// </para>
/// </summary>
public static class ChangeSql
{
    /// <summary>
    /// Appends one transaction's changes, all with one time (the database's clock, taken once, after the room locks:
    /// for one room, later transactions have later times): first the member rows the purge of each room in $17 is
    /// about to delete (logged from the table, so the statement must run before <see cref="IngestSql.PurgeMembers"/>;
    /// $18 the event that purged each room), then the member and room changes of $1-$16, in the order given. One
    /// identity value per row, in that order.
    /// </summary>
    public const string InsertChanges = """
        WITH t AS MATERIALIZED (SELECT clock_timestamp() AS at),
        purged AS (
            SELECT 'member' AS kind, m.room_id, m.user_id, NULL::text AS membership, NULL::text AS displayname,
                   NULL::text AS avatar_url, p.event_id, NULL::text AS sender, m.membership AS prev_membership,
                   m.displayname AS prev_displayname, m.avatar_url AS prev_avatar_url, m.event_id AS prev_event_id,
                   m.sender AS prev_sender, 'purge' AS cause, NULL::text AS changed, m.updated_at AS prev_updated_at,
                   row_number() OVER (ORDER BY m.room_id, m.user_id) AS n
            FROM unnest($17::text[], $18::text[]) AS p(room_id, event_id)
            JOIN room_members m ON m.room_id = p.room_id),
        rows AS (
            SELECT 0 AS part, * FROM purged
            UNION ALL
            SELECT 1, * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                                    $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
                                    $16::timestamptz[]) WITH ORDINALITY)
        INSERT INTO change_log (kind, room_id, user_id, membership, displayname, avatar_url, event_id, sender,
                                prev_membership, prev_displayname, prev_avatar_url, prev_event_id, prev_sender, cause, changed,
                                prev_updated_at, at)
        SELECT r.kind, r.room_id, r.user_id, r.membership, r.displayname, r.avatar_url, r.event_id, r.sender,
               r.prev_membership, r.prev_displayname, r.prev_avatar_url, r.prev_event_id, r.prev_sender, r.cause, r.changed,
               r.prev_updated_at, t.at
        FROM rows r CROSS JOIN t
        ORDER BY r.part, r.n
        """;

    // The reads name the horizon's one row by its key (1, checked): PostgreSQL then plans for one row. A bare scan of
    // the table is estimated from its size until the table is first analyzed (about 1,450 rows for its one page;
    // autovacuum analyzes it only after some 50 retention batches), and that estimate, multiplied into the lateral read's,
    // went past jit_above_cost: a page of one room's feed took 90-300 ms of JIT compilation for 4 ms of work on a change
    // log of a million rows (docs/benchmarks.md, "Issue 19, fourth round"; ChangeFeedPlanTests).

    /// <summary>The columns every read of change rows returns, in this order (see <see cref="ReadChange"/>).</summary>
    private const string ChangeColumns = """
        c.xid::text, c.position, c.at, c.kind, c.room_id, c.user_id, c.membership, c.prev_membership, c.displayname,
        c.avatar_url, c.event_id, c.cause, c.changed
        """;

    /// <summary>
    /// Whether the cursor's xid ($1) is one no transaction of this cluster has had yet (at or above the snapshot's
    /// xmax): not a token we handed out (another cluster's, or a logical restore's). Read from the statement's snapshot;
    /// pg_current_xact_id() would give the read an xid of its own.
    /// </summary>
    private const string Unissued = "coalesce($1::text::xid8 >= pg_snapshot_xmax(pg_current_snapshot()), false)";

    /// <summary>
    /// One page of the feed and the horizon (what retention deleted), read in one statement, so in one snapshot: the
    /// horizon row always comes, with at most $5 changes after the cursor ($1 xid as text, $2 position; null: from the
    /// horizon), below the watermark, filtered by room ($3) and kind ($4), and whether the cursor was never issued
    /// (<see cref="Unissued"/>). Each row also carries the key of the last
    /// row of the whole log below the watermark (null: none), filter or not: every row up to it is final, so a page
    /// shorter than $5 has handed out every row up to it that the filter matches, and next_batch may move there (a
    /// consumer filtered to a quiet room keeps up with the log instead of falling behind retention's horizon). Read
    /// backwards on the primary key (xid, position): one index tuple.
    /// </summary>
    public const string SelectFeed = $"""
        SELECT h.xid::text, h.position, h.at, w.xid::text, w.position, {Unissued}, {ChangeColumns}
        FROM change_log_horizon h
        LEFT JOIN LATERAL (
            SELECT l.xid, l.position FROM change_log l
            WHERE l.xid < pg_snapshot_xmin(pg_current_snapshot())
            ORDER BY l.xid DESC, l.position DESC
            LIMIT 1) w ON true
        LEFT JOIN LATERAL (
            SELECT * FROM change_log c
            WHERE (c.xid, c.position) > (coalesce($1::text::xid8, h.xid), coalesce($2, h.position))
              AND c.xid < pg_snapshot_xmin(pg_current_snapshot())
              AND ($3::text IS NULL OR c.room_id = $3)
              AND ($4::text IS NULL OR c.kind = $4)
            ORDER BY c.xid, c.position
            LIMIT $5) c ON true
        WHERE h.id = 1
        ORDER BY c.xid, c.position
        """;

    /// <summary>
    /// One user's member changes in one room, oldest first, after the cursor; with the horizon, as <see cref="SelectFeed"/>
    /// (the same columns; no last key below the watermark: a history page ends with its last entry). Without a cursor
    /// it starts at the horizon; a cursor below the horizon is the caller's 410, as for the feed.
    /// </summary>
    public const string SelectHistory = $"""
        SELECT h.xid::text, h.position, h.at, NULL::text, NULL::bigint, {Unissued}, {ChangeColumns}
        FROM change_log_horizon h
        LEFT JOIN LATERAL (
            SELECT * FROM change_log c
            WHERE c.kind = 'member' AND c.room_id = $3 AND c.user_id = $4
              AND (c.xid, c.position) > (coalesce($1::text::xid8, h.xid), coalesce($2, h.position))
              AND c.xid < pg_snapshot_xmin(pg_current_snapshot())
            ORDER BY c.xid, c.position
            LIMIT $5) c ON true
        WHERE h.id = 1
        ORDER BY c.xid, c.position
        """;

    /// <summary>
    /// The room's member rows as they were at $2, a page at a time ($3 membership filter, $4 after this user id, $5 rows),
    /// with the horizon's time first (a row of its own, user_id null). Per user: the latest change at or before $2;
    /// else the row as it was before the first change after $2 (its prev_ columns); else, no change kept at all, the
    /// current row (unchanged since before the horizon). A null membership is no row.
    /// </summary>
    public const string SelectMembersAt = """
        WITH before_t AS (
            SELECT DISTINCT ON (c.user_id) c.user_id, c.membership, c.displayname, c.avatar_url, c.event_id, c.sender, c.at AS updated_at
            FROM change_log c
            WHERE c.kind = 'member' AND c.room_id = $1 AND c.at <= $2
            ORDER BY c.user_id, c.xid DESC, c.position DESC),
        after_t AS (
            SELECT DISTINCT ON (c.user_id) c.user_id, c.prev_membership AS membership, c.prev_displayname AS displayname,
                   c.prev_avatar_url AS avatar_url, c.prev_event_id AS event_id, c.prev_sender AS sender, c.prev_updated_at AS updated_at
            FROM change_log c
            WHERE c.kind = 'member' AND c.room_id = $1 AND c.at > $2
            ORDER BY c.user_id, c.xid, c.position),
        rows_at AS (
            SELECT * FROM before_t
            UNION ALL
            SELECT a.* FROM after_t a WHERE NOT EXISTS (SELECT 1 FROM before_t b WHERE b.user_id = a.user_id)
            UNION ALL
            SELECT m.user_id, m.membership, m.displayname, m.avatar_url, m.event_id, m.sender, m.updated_at
            FROM room_members m
            WHERE m.room_id = $1
              AND NOT EXISTS (SELECT 1 FROM change_log c WHERE c.kind = 'member' AND c.room_id = $1 AND c.user_id = m.user_id))
        SELECT NULL, NULL, NULL, NULL, NULL, NULL, h.at FROM change_log_horizon h WHERE h.id = 1
        UNION ALL
        (SELECT r.user_id, r.membership, r.displayname, r.avatar_url, r.event_id, r.sender, r.updated_at
         FROM rows_at r
         WHERE r.membership IS NOT NULL AND ($3::text IS NULL OR r.membership = $3) AND ($4::text IS NULL OR r.user_id > $4)
         ORDER BY r.user_id
         LIMIT $5)
        """;

    /// <summary>
    /// One retention batch: the oldest rows in feed order, up to the first one not older than $1 ($2 rows at most),
    /// so what is deleted is always a prefix of the feed; the horizon moves to the last deleted row in the same
    /// statement. Only rows below the watermark, as the feed reads: a writer still open has a smaller xid than any
    /// row above it, and deleting those (committed, old) rows would move the horizon past the writer's rows, which
    /// would then commit behind it, unseen by every consumer. Answers the number deleted.
    /// </summary>
    public const string DeleteBatch = """
        WITH oldest AS (
            SELECT xid, position, bool_and(at < $1) OVER (ORDER BY xid, position) AS aged
            FROM (SELECT xid, position, at FROM change_log
                  WHERE xid < pg_snapshot_xmin(pg_current_snapshot())
                  ORDER BY xid, position LIMIT $2) o),
        deleted AS (
            DELETE FROM change_log c USING oldest o
            WHERE o.aged AND c.xid = o.xid AND c.position = o.position
            RETURNING c.xid, c.position, c.at),
        last AS (
            SELECT d.xid, d.position, (SELECT max(at) FROM deleted) AS at FROM deleted d ORDER BY d.xid DESC, d.position DESC LIMIT 1),
        moved AS (
            UPDATE change_log_horizon h SET xid = l.xid, position = l.position, at = greatest(h.at, l.at)
            FROM last l WHERE (l.xid, l.position) > (h.xid, h.position)
            RETURNING 1)
        SELECT count(*)::int FROM deleted
        """;

    /// <param name="purges">The rooms whose member rows are about to be purged, and the event that purged each.</param>
    public static NpgsqlBatchCommand InsertChangesCommand(ChangeSet changes, IReadOnlyList<(string RoomId, string? EventId)>? purges = null)
    {
        int n = changes.Members.Count + changes.Rooms.Count;
        var columns = new string?[15][];
        for (int c = 0; c < columns.Length; c++)
        {
            columns[c] = new string?[n];
        }

        var prevUpdatedAt = new DateTime?[n];
        int i = 0;
        foreach (var m in changes.Members)
        {
            columns[0][i] = ChangeKinds.Member;
            columns[1][i] = m.RoomId;
            columns[2][i] = m.UserId;
            columns[3][i] = m.Row?.Membership;
            columns[4][i] = m.Row?.DisplayName;
            columns[5][i] = m.Row?.AvatarUrl;
            columns[6][i] = m.Row?.EventId;
            columns[7][i] = m.Row?.Sender;
            columns[8][i] = m.Before?.Membership;
            columns[9][i] = m.Before?.DisplayName;
            columns[10][i] = m.Before?.AvatarUrl;
            columns[11][i] = m.Before?.EventId;
            columns[12][i] = m.Before?.Sender;
            columns[13][i] = m.Cause;
            prevUpdatedAt[i] = m.Before?.UpdatedAt.UtcDateTime;
            i++;
        }

        foreach (var r in changes.Rooms)
        {
            columns[0][i] = ChangeKinds.Room;
            columns[1][i] = r.RoomId;
            columns[6][i] = r.EventId;
            columns[13][i] = r.Cause;
            columns[14][i] = JsonSerializer.Serialize(r.Changed);
            i++;
        }

        purges ??= [];
        return Command(
            InsertChanges,
            [
                .. columns.Select(TextArray),
                new NpgsqlParameter { Value = prevUpdatedAt, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz },
                TextArray([.. purges.Select(p => p.RoomId)]),
                TextArray([.. purges.Select(p => p.EventId)]),
            ]);
    }

    /// <summary>A row of <see cref="ChangeColumns"/>, starting at <paramref name="o"/>; null when the row has none (no change).</summary>
    public static ChangeRow? ReadChange(NpgsqlDataReader r, int o) => r.IsDBNull(o) ? null : new ChangeRow(
        ReadKey(r, o),
        r.GetFieldValue<DateTimeOffset>(o + 2),
        r.GetString(o + 3),
        r.GetString(o + 4),
        Nullable(r, o + 5),
        Nullable(r, o + 6),
        Nullable(r, o + 7),
        Nullable(r, o + 8),
        Nullable(r, o + 9),
        Nullable(r, o + 10),
        r.GetString(o + 11),
        Nullable(r, o + 12));

    /// <summary>A token's columns (xid as text, position) at <paramref name="o"/>; null when there is none.</summary>
    public static FeedToken? ReadToken(NpgsqlDataReader r, int o) => r.IsDBNull(o) ? null : ReadKey(r, o);

    /// <summary>The horizon columns (xid as text, position, at) at <paramref name="o"/>.</summary>
    public static (FeedToken Token, DateTimeOffset At) ReadHorizon(NpgsqlDataReader r, int o) =>
        (ReadKey(r, o), r.GetFieldValue<DateTimeOffset>(o + 2));

    /// <summary>A key's columns (xid as text, position) at <paramref name="o"/>, not null.</summary>
    private static FeedToken ReadKey(NpgsqlDataReader r, int o) =>
        new(ulong.Parse(r.GetString(o), System.Globalization.CultureInfo.InvariantCulture), r.GetInt64(o + 1));

    private static string? Nullable(NpgsqlDataReader r, int o) => r.IsDBNull(o) ? null : r.GetString(o);
}

/// <summary>A place in the change log: the writing transaction's id and the row's number; rows are ordered by both.</summary>
public readonly record struct FeedToken(ulong Xid, long Position) : IComparable<FeedToken>
{
    /// <summary>The wire form: <c>{xid}_{position}</c>, both decimal. Opaque to consumers.</summary>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Xid}_{Position}");

    public static bool TryParse(string? text, out FeedToken token)
    {
        token = default;
        if (text is null || text.Split('_') is not [{ } xid, { } position]
            || xid.Length is 0 or > 20 || position.Length is 0 or > 19
            || !xid.All(char.IsAsciiDigit) || !position.All(char.IsAsciiDigit)
            || !ulong.TryParse(xid, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong x)
            || !long.TryParse(position, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long p))
        {
            return false;
        }

        token = new FeedToken(x, p);
        return true;
    }

    public int CompareTo(FeedToken other) => Xid != other.Xid ? Xid.CompareTo(other.Xid) : Position.CompareTo(other.Position);

    public static bool operator <(FeedToken a, FeedToken b) => a.CompareTo(b) < 0;

    public static bool operator >(FeedToken a, FeedToken b) => a.CompareTo(b) > 0;

    public static bool operator <=(FeedToken a, FeedToken b) => a.CompareTo(b) <= 0;

    public static bool operator >=(FeedToken a, FeedToken b) => a.CompareTo(b) >= 0;
}

/// <summary>One row of the change log as read (the feed and the history).</summary>
public sealed record ChangeRow(
    FeedToken Token,
    DateTimeOffset At,
    string Kind,
    string RoomId,
    string? UserId,
    string? Membership,
    string? PrevMembership,
    string? DisplayName,
    string? AvatarUrl,
    string? EventId,
    string Cause,
    string? Changed);
