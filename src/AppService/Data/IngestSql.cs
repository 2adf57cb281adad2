using AppService.Projections;
using Npgsql;
using NpgsqlTypes;

namespace AppService.Data;

/// <summary>
/// The SQL of the ingest path, written deliberately: set-based statements over <c>unnest</c> arrays, keys sorted,
/// <c>ON CONFLICT</c> instead of read-then-write. One transaction costs two batches and a commit, however many
/// events it carries. Kept in one place so the benchmark's floor driver replays exactly these statements.
/// </summary>
public static partial class IngestSql
{
    /// <summary>
    /// Serialises work on the same txnId and on the same rooms across requests and replicas. Keys are taken in the
    /// order given: the txnId's first (when the unit takes it), then the rooms' in ascending order. No transaction
    /// ever waits for a txnId key while it holds a room key, and room keys are always taken ascending, so two
    /// transactions can never deadlock on them, nor a transaction with a salvage that holds its txnId key across its
    /// groups (<see cref="Transactions.TransactionProcessor"/>'s safety net).
    /// </summary>
    public const string LockKeys =
        "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT k FROM unnest($1::bigint[]) WITH ORDINALITY AS u(k, i) ORDER BY i) AS keys";

    /// <summary>
    /// The ingest's first statement, before <see cref="LockKeys"/>: sets how this transaction's statements are planned. The
    /// service's connections plan every execution for its parameters (<c>plan_cache_mode=force_custom_plan</c>,
    /// <c>Hosting/AppServiceSetup.CreateDataSource</c>): safe for every query, but planning costs PostgreSQL about
    /// 0.75 ms per 100-event transaction, which the ingest cannot afford (issue 19, <c>docs/benchmarks.md</c>). Within
    /// an ingest transaction only, prepared statements run their generic plan (<c>plan_cache_mode=force_generic_plan</c>:
    /// made at a statement's first execution on a connection, then reused), and every plan is made with sequential
    /// scans, hash joins and merge joins disabled, so a generic plan is index-driven whatever the tables' size was when
    /// it was made: a plan made while the tables were one page cannot read them whole once they are large
    /// (<c>Data/PlanTrapTests</c>). Every ingest statement has an index for each table it reads. Not <c>auto</c>: under it
    /// PostgreSQL kept re-planning the change-log insert at every execution (its custom plans looked cheaper than the
    /// generic one), 0.14 ms of planning per transaction. A generic plan is only ever made and used under these settings,
    /// since everywhere else the connection's force_custom_plan applies. <c>set_config(..., true)</c> lasts until the
    /// transaction ends. A statement of its own, without parameters: PostgreSQL never re-plans a prepared statement
    /// that has none (plancache.c, whatever plan_cache_mode says), and the lock statement after it then runs its generic
    /// plan too. Inside one statement with the locks, as before, the whole statement was planned again at every
    /// transaction, under the connection's force_custom_plan (31 us per transaction, issue 19).
    /// </summary>
    public const string IngestPlanSettings =
        $"SELECT set_config('plan_cache_mode', 'force_generic_plan', true), {IndexDrivenPlans}";

    /// <summary>
    /// Planner settings for the rest of the transaction (select-list expressions): no sequential scan, hash join or
    /// merge join where an index can serve, so a plan reads a table through its index whatever size the planner
    /// believes it has. Used by the ingest (<see cref="IngestPlanSettings"/>) and by every retention batch.
    /// </summary>
    public const string IndexDrivenPlans =
        "set_config('enable_seqscan', 'off', true), set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)";

    /// <summary>The safety net's hold on a txnId across its groups: a session-level lock on the txnId's key.</summary>
    public const string LockTxnForSalvage = "SELECT pg_advisory_lock($1)";

    public const string UnlockTxnAfterSalvage = "SELECT pg_advisory_unlock($1)";

    public const string SelectLedgerHash = "SELECT content_hash FROM txn_ledger WHERE txn_id = $1";

    /// <summary>
    /// The exactly-once gate: only ids this statement inserts are projected. Skipped entirely when the txnId was
    /// already processed with the same content ($5 = its hash). The events it inserts share one processing order
    /// (<c>seq</c>: one <c>nextval</c> per statement, an init plan, instead of the column default's one per row): they
    /// commit together, and the resync race rule only compares a row's number with one taken before a fetch
    /// (<see cref="Projections.Resync"/>), so one number per transaction decides it exactly as one per event did.
    /// <para>
    /// For the new events only, it also returns the rows the projection needs to compare and redact: the id we hold
    /// for the key of a new state event ($7 = its state_key, null for other events; the projection's stale-event rule
    /// compares it with the event's <c>unsigned.replaces_state</c>), and the key whose current event a redaction targets
    /// ($8 = <c>redacts</c>, else null) with, for a member event, the member row it set, and the sender of the targeted
    /// event (the redaction rule compares its server with the redacter's; the room's power levels come with
    /// <see cref="SelectRooms"/>); for a redaction, whether its target was ever processed (null: never, and the
    /// redaction waits for it in <c>pending_redactions</c>) and if so whether it may be a state event (a redaction of a
    /// message cannot change what a running resync writes). Only a row with no state key whose type is a message type
    /// counts as a message: a state event processed before processed rows had a state key (migration HotPathSchema
    /// back-filled only the events then current) has none either, and its redaction must still make a running resync
    /// fetch again; for a new state event, the redaction that arrived before it, if one waits.
    /// The lookups are subqueries of the output list, so they run for inserted rows only: redelivered events cost
    /// none, and the ingest no extra statement.
    /// </para>
    /// <para>
    /// Member events are stored once, in <c>room_members</c> (issue 19): <c>room_state</c> holds no member keys. The id
    /// held for a new member event's key is not probed here: it is its member row's event id, and
    /// <see cref="SelectMembers"/>, in the same round trip, loads every member row the transaction's member events
    /// touch (<see cref="Projections.ProjectionBatch.LoadMember"/> seeds the key with it). No member row (the room was
    /// never seen, or was purged) is first sight, as no <c>room_state</c> row was.
    /// </para>
    /// <para>
    /// A redaction's target is found by its key: <c>processed_events.state_key</c> (written here for every state
    /// event; null for other events) names the <c>room_state</c> row, or for a member event the <c>room_members</c>
    /// row, which holds the target if it is still the current event of that key. <c>room_state</c> has no index on
    /// <c>event_id</c>, so its updates are HOT. A target we hold no processed row for (retention pruned it, or it became
    /// current before processed rows had a state key and has not been processed since) is looked for among the
    /// redaction's room's state rows and member rows (each table's primary-key room prefix): rare, and bounded by the
    /// room's state.
    /// </para>
    /// <para>
    /// The look-ups read the inserted rows' own columns (<c>RETURNING</c>), never a join of the inserted rows back to
    /// the parameter arrays: under the ingest's planner settings (<see cref="IndexDrivenPlans"/>: no hash or merge
    /// join) that join is a nested loop over two unindexed row sets, 100 x 100 text comparisons for a 100-event
    /// transaction (issue 19: about half of this statement's time). The redactions' targets come as arrays of their
    /// own ($8 = the redactions' event ids, $9 = their <c>redacts</c>), found with <c>array_position</c>: free when a
    /// transaction has none. The pending-redaction probe runs only while some redaction waits at all (an init plan,
    /// evaluated once per statement).
    /// </para>
    /// </summary>
    public const string InsertProcessedEvents = $"""
        WITH inserted AS (
            INSERT INTO processed_events (event_id, room_id, event_type, txn_id, processed_at, state_key, seq)
            SELECT k.event_id, k.room_id, k.event_type, $4, $6, k.state_key, (SELECT nextval('processing_order'))
            FROM unnest($1::text[], $2::text[], $3::text[], $7::text[]) AS k(event_id, room_id, event_type, state_key)
            WHERE NOT EXISTS (SELECT 1 FROM txn_ledger l WHERE l.txn_id = $4 AND l.content_hash = $5)
            ON CONFLICT (event_id) DO NOTHING
            RETURNING event_id, room_id, event_type, state_key),
        k AS (
            SELECT i.event_id, i.room_id, i.event_type, i.state_key,
                   ($9::text[])[array_position($8::text[], i.event_id)] AS redacts
            FROM inserted i)
        SELECT k.event_id,
               CASE WHEN k.state_key IS NOT NULL AND k.event_type <> 'm.room.member' THEN
                   (SELECT s.event_id FROM room_state s
                    WHERE s.room_id = k.room_id AND s.event_type = k.event_type AND s.state_key = k.state_key) END,
               CASE WHEN k.redacts IS NOT NULL THEN COALESCE(
                   (SELECT {RedactionTargetState}
                    FROM processed_events p
                    JOIN room_state s ON s.room_id = p.room_id AND s.event_type = p.event_type AND s.state_key = p.state_key
                    WHERE p.event_id = k.redacts AND p.event_type <> 'm.room.member' AND s.event_id = k.redacts),
                   (SELECT {RedactionTargetMember}
                    FROM processed_events p
                    JOIN room_members m ON m.room_id = p.room_id AND m.user_id = p.state_key
                    WHERE p.event_id = k.redacts AND p.event_type = 'm.room.member' AND m.event_id = k.redacts),
                   (SELECT {RedactionTargetState}
                    FROM room_state s
                    WHERE NOT EXISTS (SELECT 1 FROM processed_events p WHERE p.event_id = k.redacts)
                      AND s.room_id = k.room_id AND s.event_id = k.redacts AND s.event_type <> 'm.room.member'),
                   (SELECT {RedactionTargetMember}
                    FROM room_members m
                    WHERE NOT EXISTS (SELECT 1 FROM processed_events p WHERE p.event_id = k.redacts)
                      AND m.room_id = k.room_id AND m.event_id = k.redacts)) END,
               CASE WHEN k.redacts IS NOT NULL THEN
                   (SELECT NOT (p.state_key IS NULL AND p.event_type IN ('m.room.message', 'm.room.encrypted', 'm.sticker', 'm.reaction'))
                    FROM processed_events p WHERE p.event_id = k.redacts) END,
               CASE WHEN k.state_key IS NOT NULL AND (SELECT EXISTS (SELECT 1 FROM pending_redactions)) THEN
                   (SELECT ARRAY[r.redaction_event_id, r.sender] FROM pending_redactions r WHERE r.target_event_id = k.event_id) END,
               (SELECT set_config('appservice.ingest_inserted', 'yes', true))
        FROM k
        """;

    /// <summary>
    /// A redaction target's row, as <see cref="ReadRedactionTarget"/> reads it (room_id, event_type, state_key,
    /// membership, displayname, avatar_url, event_id, sender of the member row, sender of the state event, and the
    /// member row's updated_at in microseconds since the Unix epoch: exact, and free of the session's DateStyle): the
    /// <c>room_state</c> row <c>s</c> the target is the current event of (no member row), or the <c>room_members</c> row
    /// <c>m</c> a member target set (its sender is the member event's; an event pushed without a sender is stored with
    /// <c>''</c> and read as no sender, as its <c>room_state</c> row held none: the redaction rule then cannot tell, and
    /// the resync decides). Shared by <see cref="InsertProcessedEvents"/>'
    /// ways to the target (by its key, and the room-bounded fallback).
    /// </summary>
    private const string RedactionTargetState =
        "ARRAY[s.room_id, s.event_type, s.state_key, NULL, NULL, NULL, NULL, NULL, s.sender]";

    private const string RedactionTargetMember =
        "ARRAY[m.room_id, 'm.room.member', m.user_id, m.membership, m.displayname, m.avatar_url, m.event_id, m.sender, NULLIF(m.sender, ''), " +
        "(extract(epoch FROM m.updated_at) * 1000000)::bigint::text]";

    /// <summary>
    /// The condition of the ingest's reads that only new events need (<see cref="SelectRoomsForIngest"/>,
    /// <see cref="SelectMembers"/>): <see cref="InsertProcessedEvents"/> inserted at least one event in this
    /// transaction. Its last column is an uncorrelated subquery, an init plan PostgreSQL runs once, at the first row
    /// it returns, so only when it inserted something; it sets a transaction-local setting that these reads test
    /// once (a stable function: a one-time filter, no row read when it is false). A transaction of duplicates only
    /// (a homeserver re-sending what we applied under a new txnId) then reads no room and no member row: the
    /// projection applies new events only, so it needs none. They run in the same round trip, after the insert.
    /// </summary>
    private const string InsertedAny = "current_setting('appservice.ingest_inserted', true) = 'yes'";

    /// <summary><see cref="SelectRooms"/> for the ingest: only when it inserted an event (<see cref="InsertedAny"/>).</summary>
    public const string SelectRoomsForIngest = $"{SelectRooms} AND {InsertedAny}";

    /// <summary>Remembers redactions whose target we never processed (<see cref="PendingRedaction"/>).</summary>
    public const string InsertPendingRedactions = """
        INSERT INTO pending_redactions (target_event_id, room_id, redaction_event_id, sender, received_at)
        SELECT t, r, x, s, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS p(t, r, x, s)
        ON CONFLICT (target_event_id) DO NOTHING
        """;

    /// <summary>Forgets pending redactions whose target has arrived.</summary>
    public const string DeletePendingRedactions = "DELETE FROM pending_redactions WHERE target_event_id = ANY($1::text[])";

    public const string SelectRooms = """
        SELECT room_id, name, topic, canonical_alias, avatar_url, join_rule, history_visibility, encryption,
               room_version, creator, room_type, predecessor_room_id, tombstone_successor, bot_membership, updated_at,
               state_source, suspect, last_synced_at, creators, power_levels
        FROM rooms WHERE room_id = ANY($1::text[])
        """;

    public const string SelectMembers = $"""
        SELECT m.room_id, m.user_id, m.membership, m.displayname, m.avatar_url, m.event_id, m.sender, m.updated_at
        FROM room_members m
        JOIN unnest($1::text[], $2::text[]) AS k(room_id, user_id) ON m.room_id = k.room_id AND m.user_id = k.user_id
        WHERE {InsertedAny}
        """;

    public const string PurgeMembers = "DELETE FROM room_members WHERE room_id = ANY($1::text[])";

    /// <summary>
    /// Writes whole room rows as the caller read them under the room's advisory lock (the ingest and the resync
    /// both hold it), so writing every column back loses nothing. drift_checked_at is not ours to write.
    /// </summary>
    public const string UpsertRooms = """
        INSERT INTO rooms (room_id, name, topic, canonical_alias, avatar_url, join_rule, history_visibility, encryption,
                           room_version, creator, room_type, predecessor_room_id, tombstone_successor, bot_membership, updated_at,
                           state_source, suspect, last_synced_at, creators, power_levels)
        SELECT r.c1, r.c2, r.c3, r.c4, r.c5, r.c6, r.c7, r.c8, r.c9, r.c10, r.c11, r.c12, r.c13, r.c14, r.c15, r.c16, r.c17, r.c18,
               string_to_array(r.c19, E'\n'), r.c20
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                    $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::timestamptz[],
                    $16::text[], $17::boolean[], $18::timestamptz[], $19::text[], $20::text[])
            AS r(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19, c20)
        ON CONFLICT (room_id) DO UPDATE SET
            name = excluded.name, topic = excluded.topic, canonical_alias = excluded.canonical_alias,
            avatar_url = excluded.avatar_url, join_rule = excluded.join_rule,
            history_visibility = excluded.history_visibility, encryption = excluded.encryption,
            room_version = excluded.room_version, creator = excluded.creator, room_type = excluded.room_type,
            predecessor_room_id = excluded.predecessor_room_id, tombstone_successor = excluded.tombstone_successor,
            bot_membership = excluded.bot_membership, updated_at = excluded.updated_at,
            state_source = excluded.state_source, suspect = excluded.suspect, last_synced_at = excluded.last_synced_at,
            creators = excluded.creators, power_levels = excluded.power_levels
        """;

    public const string UpsertMembers = """
        INSERT INTO room_members (room_id, user_id, membership, displayname, avatar_url, event_id, sender, updated_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
        ON CONFLICT (room_id, user_id) DO UPDATE SET
            membership = excluded.membership, displayname = excluded.displayname, avatar_url = excluded.avatar_url,
            event_id = excluded.event_id, sender = excluded.sender, updated_at = excluded.updated_at
        """;

    public const string UpsertState = """
        INSERT INTO room_state (room_id, event_type, state_key, event_id, sender)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
        ON CONFLICT (room_id, event_type, state_key) DO UPDATE SET event_id = excluded.event_id, sender = excluded.sender
        """;

    /// <summary>
    /// Rejected events as text, never cast to jsonb: the raw JSON text as received (\u0000 and lone surrogates stay
    /// escaped in it), so any event can be stored. Ids arrive made storable (<see cref="Matrix.MatrixText.StorableId"/>).
    /// </summary>
    public const string InsertRejected = """
        INSERT INTO rejected_events (event_id, room_id, event_type, txn_id, reason, reason_code, content, content_bytes, rejected_at)
        SELECT e.event_id, e.room_id, e.event_type, $5, e.reason, e.reason_code, e.content, e.content_bytes, $7
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $6::text[], $8::text[], $9::int[])
            AS e(event_id, room_id, event_type, reason, content, reason_code, content_bytes)
        ON CONFLICT (event_id) WHERE event_id IS NOT NULL DO NOTHING
        """;

    /// <summary>A redaction whose target is a rejected event removes the content we kept of it (same commit).</summary>
    public const string RedactRejected = """
        UPDATE rejected_events r SET content = NULL, redacted_by = x.redaction_id
        FROM unnest($1::text[], $2::text[], $3::text[]) AS x(target, room_id, redaction_id)
        WHERE r.event_id = x.target AND r.room_id = x.room_id
        """;

    /// <summary>
    /// The ledger row. Its rejected_count is the transaction's rejected events ($5) less those already stored under
    /// another transaction ($7: their storable ids; rejected_events is unique by event id, so a rejected event re-sent in
    /// a new transaction is not stored again): the ledger counts what is stored under it, as new_event_count counts
    /// only the events this transaction inserted. Runs after <see cref="InsertRejected"/> in the same batch.
    /// </summary>
    public const string UpsertLedger = """
        INSERT INTO txn_ledger (txn_id, content_hash, event_count, new_event_count, rejected_count, first_seen_at, last_processed_at)
        VALUES ($1, $2, $3, $4,
                $5 - (SELECT count(*)::int FROM rejected_events r WHERE r.event_id = ANY($7::text[]) AND r.txn_id <> $1),
                $6, $6)
        ON CONFLICT (txn_id) DO UPDATE SET
            content_hash = excluded.content_hash, event_count = excluded.event_count,
            new_event_count = excluded.new_event_count, rejected_count = excluded.rejected_count,
            last_processed_at = excluded.last_processed_at
        """;

    /// <summary>A stable 64-bit key for pg_advisory_xact_lock (FNV-1a over the UTF-16 code units).</summary>
    public static long LockKey(string kind, string id)
    {
        ulong hash = 14695981039346656037UL;
        foreach (char c in kind)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        hash = (hash ^ ':') * 1099511628211UL;
        foreach (char c in id)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return unchecked((long)hash);
    }

}
