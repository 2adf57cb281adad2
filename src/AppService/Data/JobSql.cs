using AppService.Projections;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using static AppService.Data.SqlParameters;

namespace AppService.Data;

/// <summary>
/// The statements of the <c>jobs</c> table: a durable queue of homeserver work. The rules, in one place:
/// <list type="bullet">
/// <item>A job is open until <c>completed_at</c> is set; at most one open job per <c>dedup_key</c>
/// (<c>ux_jobs_open_dedup_key</c>). Asking for work that is already queued is a no-op; asking while it runs sets
/// <c>rerun</c>, so it runs once more afterwards: its running snapshot may predate whatever asked again.</item>
/// <item>A worker claims due jobs with <c>FOR UPDATE SKIP LOCKED</c> and a lease (<c>locked_until</c>), then does the
/// homeserver I/O with no transaction open. Replicas never claim the same job; a job whose worker died is claimed
/// again when its lease runs out. The lease value is the fencing token: a straggler whose lease was taken over
/// cannot complete or fail the job.</item>
/// <item>Failures set <c>run_after</c> by the caller's backoff; only permanent errors past the attempt limit give up
/// (<c>outcome = 'failed'</c>), and that row stays visible.</item>
/// </list>
/// </summary>
public static class JobSql
{
    /// <summary>
    /// The ingest's enqueue, in batch 2 of the transaction that applied the cause: one statement per batch. The
    /// DO UPDATE touches only a running job (rerun); a merely pending one is left as it is (its run_after too).
    /// $6 names running jobs to rerun without queuing anything (a redaction racing a resync's fetch); it never
    /// names a key that $3 also holds, as one statement must not update a row twice.
    /// </summary>
    public const string InsertJobs = """
        WITH rerun AS (
            UPDATE jobs SET rerun = true
            WHERE dedup_key = ANY($6::text[]) AND completed_at IS NULL AND locked_until IS NOT NULL)
        INSERT INTO jobs (kind, room_id, dedup_key, reason, attempts, run_after, rerun, created_at)
        SELECT j.kind, j.room_id, j.dedup_key, j.reason, 0, $5, false, $5
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS j(kind, room_id, dedup_key, reason)
        ON CONFLICT (dedup_key) WHERE completed_at IS NULL
        DO UPDATE SET rerun = true WHERE jobs.locked_until IS NOT NULL
        """;

    /// <summary>An operator's request: like the ingest's, but also makes a backing-off job due now, and returns its id.</summary>
    public const string EnqueueNow = """
        INSERT INTO jobs (kind, room_id, dedup_key, reason, attempts, run_after, rerun, created_at)
        VALUES ($1, $2, $3, $4, 0, $5, false, $5)
        ON CONFLICT (dedup_key) WHERE completed_at IS NULL
        DO UPDATE SET run_after = LEAST(jobs.run_after, excluded.run_after), rerun = jobs.rerun OR jobs.locked_until IS NOT NULL
        RETURNING id
        """;

    /// <summary>
    /// Claims up to $2 due jobs for this worker until $3. A job still leased by another worker is not due; one whose
    /// lease ran out is (its worker died). rerun is cleared: a request from now on must run again after this run.
    /// <para>
    /// Resyncs (a whole room's <c>/members</c> and <c>/state</c> each) are capped at $4 running at once across all
    /// replicas (<c>AppService:Jobs:MaxConcurrentResyncs</c>), so an invite flood cannot keep the homeserver busy:
    /// once the cap is reached no resync is picked, and other jobs go ahead. Two replicas claiming at the same
    /// instant may each see one slot free, so the cap can be passed by one per replica at most.
    /// </para>
    /// </summary>
    public const string Claim = """
        WITH running AS (
            SELECT count(*) AS n FROM jobs
            WHERE kind = 'resync' AND completed_at IS NULL AND locked_until > $1),
        due AS (
            SELECT id, kind, run_after FROM jobs
            WHERE completed_at IS NULL AND run_after <= $1 AND (locked_until IS NULL OR locked_until <= $1)
              AND (kind <> 'resync' OR (SELECT n FROM running) < $4)
            ORDER BY run_after, id
            LIMIT $2
            FOR UPDATE SKIP LOCKED),
        picked AS (
            SELECT d.id FROM (
                SELECT id, kind, row_number() OVER (PARTITION BY kind = 'resync' ORDER BY run_after, id) AS k FROM due) AS d
            WHERE d.kind <> 'resync' OR d.k <= $4 - (SELECT n FROM running))
        UPDATE jobs j SET locked_until = $3, attempts = j.attempts + 1, rerun = false
        FROM picked
        WHERE j.id = picked.id
        RETURNING j.id, j.kind, j.room_id, j.reason, j.attempts, j.locked_until
        """;

    /// <summary>
    /// Finishes a run ($1 id, $2 lease). If the work was asked for again while it ran (rerun) or the run asks for it
    /// ($6, e.g. a snapshot that went stale), the job stays open and is due at once; otherwise it is completed.
    /// </summary>
    public const string Complete = """
        UPDATE jobs SET
            completed_at = CASE WHEN rerun OR $6 THEN NULL ELSE $3 END,
            attempts = 0,
            outcome = $4, detail = $5, locked_until = NULL, run_after = $3
        WHERE id = $1 AND locked_until = $2
        """;

    /// <summary>A failed run ($1 id, $2 lease): retry at $3, or give up when $5 (never while a rerun is owed).</summary>
    public const string Fail = """
        UPDATE jobs SET
            locked_until = NULL, run_after = $3, last_error = $4,
            completed_at = CASE WHEN $5 AND NOT rerun THEN $6 END,
            outcome = CASE WHEN $5 AND NOT rerun THEN 'failed' ELSE outcome END
        WHERE id = $1 AND locked_until = $2
        """;

    /// <summary>Gives a claimed job back untouched except for the attempt (the service is stopping).</summary>
    public const string Release = "UPDATE jobs SET locked_until = NULL WHERE id = $1 AND locked_until = $2";

    /// <summary>
    /// The periodic drift check's sample: the $2 joined rooms synced or checked longest ago, marked as checked now
    /// and given a drift_check job, in one statement. SKIP LOCKED keeps replicas off each other's picks. A room with a
    /// resync open is left out and not marked: the resync is about to replace its rows with the homeserver's, so a
    /// check would only report (as drift, with two homeserver calls) the difference the resync is there to repair,
    /// as it did for every room a flood of invites left waiting for its first resync, first in the order (never
    /// synced nor checked). It is sampled again once the resync has ended (its sync time then fresh if it succeeded). A
    /// room whose resync never ends (retrying forever while the homeserver fails it) is not checked meanwhile: the
    /// check would make the same calls; the open job and its errors are what an operator sees (docs/operations.md).
    /// </summary>
    public const string ScheduleDriftChecks = """
        WITH picked AS (
            SELECT room_id FROM rooms r
            WHERE bot_membership = 'join'
              AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.dedup_key = 'resync:' || r.room_id AND j.completed_at IS NULL)
            ORDER BY GREATEST(drift_checked_at, last_synced_at) NULLS FIRST, room_id
            LIMIT $2
            FOR UPDATE SKIP LOCKED),
        marked AS (
            UPDATE rooms r SET drift_checked_at = $1 FROM picked p WHERE r.room_id = p.room_id RETURNING r.room_id)
        INSERT INTO jobs (kind, room_id, dedup_key, reason, attempts, run_after, rerun, created_at)
        SELECT 'drift_check', m.room_id, 'drift_check:' || m.room_id, 'sample', 0, $1, false, $1 FROM marked m
        ON CONFLICT (dedup_key) WHERE completed_at IS NULL DO NOTHING
        """;

    /// <summary>
    /// Queues a resync ($2 now) of every room we hold as not joined that the homeserver says the bot is joined to ($1,
    /// its <c>/joined_rooms</c>), unless one is open already.
    /// </summary>
    public const string QueueResyncsOfRoomsJoinedElsewhere = """
        INSERT INTO jobs (kind, room_id, dedup_key, reason, attempts, run_after, rerun, created_at)
        SELECT 'resync', r.room_id, 'resync:' || r.room_id, 'drift', 0, $2, false, $2
        FROM rooms r
        WHERE r.room_id = ANY($1::text[]) AND r.bot_membership IS DISTINCT FROM 'join'
        ON CONFLICT (dedup_key) WHERE completed_at IS NULL DO NOTHING
        """;

    public static NpgsqlBatchCommand InsertJobsCommand(IReadOnlyList<JobRequest> jobs, DateTimeOffset now, IReadOnlyList<string>? rerunResyncRooms = null) => Command(
        InsertJobs,
        TextArray(jobs.Select(j => j.Kind).ToArray()),
        TextArray(jobs.Select(j => j.RoomId).ToArray()),
        TextArray(jobs.Select(j => j.DedupKey).ToArray()),
        TextArray(jobs.Select(j => j.Reason).ToArray()),
        Timestamp(now),
        TextArray((rerunResyncRooms ?? []).Select(r => JobRequest.DedupKeyOf(JobKinds.Resync, r)).ToArray()));

    /// <summary>Queues a job (or folds into the open one, making it due now) and returns the job's id.</summary>
    public static async Task<long> EnqueueNowAsync(AppDbContext db, JobRequest job, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand(EnqueueNow, (NpgsqlConnection)db.Database.GetDbConnection());
            command.Parameters.AddRange(new[] { Text(job.Kind), Text(job.RoomId), Text(job.DedupKey), Text(job.Reason), Timestamp(now) });
            return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>One row of <see cref="Claim"/>.</summary>
    public static ClaimedJob ReadClaimed(NpgsqlDataReader reader) => new(
        reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4), reader.GetFieldValue<DateTimeOffset>(5));

    public static NpgsqlBatchCommand CompleteCommand(ClaimedJob job, DateTimeOffset now, string outcome, string? detail, bool runAgain = false) => Command(
        Complete,
        Bigint(job.Id),
        Timestamp(job.LockedUntil),
        Timestamp(now),
        Text(outcome),
        Text(detail),
        Bool(runAgain));
}

/// <summary>A job as a worker claimed it; <see cref="LockedUntil"/> is its lease and fencing token.</summary>
public sealed record ClaimedJob(long Id, string Kind, string RoomId, string Reason, int Attempts, DateTimeOffset LockedUntil);

public static class JobOutcomes
{
    public const string Done = "done";

    /// <summary>Nothing to do any more: the bot is already joined, no longer invited, or no longer in the room.</summary>
    public const string Skipped = "skipped";

    /// <summary>The snapshot predates a change that raced it (a re-join, a redaction); run again at once.</summary>
    public const string Stale = "stale";

    /// <summary>A drift check found differences and queued a resync.</summary>
    public const string Drift = "drift";

    /// <summary>Gave up after a permanent error; see last_error.</summary>
    public const string Failed = "failed";

    /// <summary>
    /// A resync whose lease ran out before it could write: its snapshot was dropped, and the job (not ours any
    /// more) was left to whoever holds it now, or to the next claim.
    /// </summary>
    public const string LeaseLost = "lease_lost";
}
