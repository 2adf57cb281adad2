using AppService.Projections;
using Npgsql;
using static AppService.Data.IngestSql;
using static AppService.Data.SqlParameters;

namespace AppService.Data;

/// <summary>
/// The statements of a resync and a drift check. A resync writes under the same room advisory lock as the ingest
/// (<see cref="IngestSql.LockKeys"/>), so the rows it decides on cannot change until it commits.
/// </summary>
public static class ResyncSql
{
    /// <summary>A room's member rows, each with the processing order of the event that set it (null if we never processed it).</summary>
    public const string SelectMembersSeen = """
        SELECT m.room_id, m.user_id, m.membership, m.displayname, m.avatar_url, m.event_id, m.sender, m.updated_at, p.seq
        FROM room_members m LEFT JOIN processed_events p ON p.event_id = m.event_id
        WHERE m.room_id = $1
        """;

    /// <summary>
    /// A room's state ids, each with the processing order of its event (null if we never processed it). No member keys:
    /// member events are stored once, in <c>room_members</c> (<see cref="SelectMembersSeen"/>).
    /// </summary>
    public const string SelectStateSeen = """
        SELECT s.event_type, s.state_key, s.event_id, p.seq, s.sender
        FROM room_state s LEFT JOIN processed_events p ON p.event_id = s.event_id
        WHERE s.room_id = $1
        """;

    /// <summary>
    /// The processing-order number a resync or drift check takes just before it fetches: every event processed
    /// after this takes a larger one (see <see cref="Projections.Resync"/>).
    /// </summary>
    public const string NextProcessingOrder = "SELECT nextval('processing_order')";

    /// <summary>Whether the same work was asked for again while this run was fetching (see <see cref="JobSql"/>).</summary>
    public const string SelectRerun = "SELECT rerun FROM jobs WHERE id = $1";

    /// <summary>
    /// The lease fence of a resync's writing transaction: locks the job row ($1 id) if this run still holds its
    /// lease ($2, the <c>locked_until</c> it claimed with: the lease token) and the lease has not run out by the
    /// database's clock. No row: the lease is gone (another worker may have taken the job over and written a newer
    /// snapshot), so the run must roll back instead of writing its snapshot. The row lock holds until commit, so
    /// the lease cannot be taken over between this check and the writes.
    /// </summary>
    public const string LockLease = "SELECT 1 FROM jobs WHERE id = $1 AND locked_until = $2 AND locked_until > clock_timestamp() FOR UPDATE";

    /// <summary>
    /// Records the snapshot's event ids as processed (txn_id <c>resync:{job id}</c>), so a copy of the same event
    /// that the homeserver's backlog delivers later is a duplicate, not a new event that rolls state back. Each with
    /// its state key ($6), so a redaction finds it in room_state or room_members
    /// (<see cref="IngestSql.InsertProcessedEvents"/>); an event processed before processed rows had a state key gets
    /// it here.
    /// </summary>
    public const string RecordSnapshotEvents = """
        INSERT INTO processed_events AS p (event_id, room_id, event_type, txn_id, processed_at, state_key)
        SELECT e.event_id, $2, e.event_type, $3, $4, e.state_key
        FROM unnest($1::text[], $5::text[], $6::text[]) AS e(event_id, event_type, state_key)
        ON CONFLICT (event_id) DO UPDATE SET state_key = excluded.state_key
            WHERE p.state_key IS NULL AND excluded.state_key IS NOT NULL
        """;

    /// <summary>
    /// A room the homeserver says the bot is not joined to ($1), decided under the room's lock by the caller: its
    /// member rows go (and with them the ids held for its member keys: <c>room_state</c> holds none), it is no longer
    /// suspect ($2 now), and the bot's membership becomes $3, as the caller decided under that lock: the homeserver's
    /// when it said what it is, else ours, or null (unknown) when ours was 'join'.
    /// </summary>
    public const string SettleNotJoined = """
        WITH r AS (UPDATE rooms SET suspect = false, bot_membership = $3, updated_at = $2 WHERE room_id = $1)
        DELETE FROM room_members WHERE room_id = $1
        """;

    /// <summary>The processing order of the given event ids that were processed (the drift check's labels).</summary>
    public const string SelectProcessedSeq = "SELECT event_id, seq FROM processed_events WHERE event_id = ANY($1::text[])";

    public const string DeleteMembers = "DELETE FROM room_members WHERE room_id = $1 AND user_id = ANY($2::text[])";

    public const string DeleteState = """
        DELETE FROM room_state s USING unnest($2::text[], $3::text[]) AS k(event_type, state_key)
        WHERE s.room_id = $1 AND s.event_type = k.event_type AND s.state_key = k.state_key
        """;

    public static SeenMember ReadSeenMember(NpgsqlDataReader reader) =>
        new(ReadMember(reader), reader.IsDBNull(8) ? null : reader.GetInt64(8));

    public static SeenState ReadSeenState(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetInt64(3))
        {
            Sender = reader.IsDBNull(4) ? null : reader.GetString(4),
        };

    /// <summary>The writes of a resync plan, in lock-friendly order: deletes, then upserts sorted by key.</summary>
    public static IEnumerable<NpgsqlBatchCommand> WritePlan(string roomId, ResyncPlan plan)
    {
        if (plan.MemberDeletes.Count > 0)
        {
            yield return Command(DeleteMembers, Text(roomId), TextArray(plan.MemberDeletes));
        }

        if (plan.StateDeletes.Count > 0)
        {
            yield return Command(
                DeleteState,
                Text(roomId),
                TextArray(plan.StateDeletes.Select(k => k.Type).ToArray()),
                TextArray(plan.StateDeletes.Select(k => k.StateKey).ToArray()));
        }

        if (plan.MemberUpserts.Count > 0)
        {
            yield return UpsertMembersCommand(plan.MemberUpserts);
        }

        if (plan.StateUpserts.Count > 0)
        {
            yield return UpsertStateCommand(plan.StateUpserts, plan.StateSenders.GetValueOrDefault);
        }

        yield return UpsertRoomsCommand([plan.Room]);
    }
}
