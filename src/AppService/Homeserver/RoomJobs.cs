using AppService.Data;
using AppService.Matrix;
using AppService.Observability;
using AppService.Projections;
using AppService.Transactions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using static AppService.Data.IngestSql;

namespace AppService.Homeserver;

/// <summary>
/// Runs one claimed job: join, resync or drift check. Homeserver calls happen with no transaction open; database
/// writes come after, each in one short transaction that also completes the job. Any exception leaves the job to
/// the worker's backoff (<see cref="JobWorker"/>).
/// </summary>
public sealed class RoomJobs(
    AppDbContext db,
    HomeserverClient homeserver,
    BotIdentity bot,
    TimeProvider time,
    JobSignal signal,
    ConnectionHygiene hygiene,
    ILogger<RoomJobs> logger)
{
    /// <summary>Runs the job and completes it; returns its outcome (<see cref="JobOutcomes"/>).</summary>
    public Task<string> RunAsync(ClaimedJob job, CancellationToken cancellationToken) => job.Kind switch
    {
        JobKinds.Join => JoinAsync(job, cancellationToken),
        JobKinds.Resync => ResyncAsync(job, cancellationToken),
        JobKinds.DriftCheck => CheckDriftAsync(job, cancellationToken),
        _ => CompleteAsync(job, JobOutcomes.Skipped, $"unknown job kind '{job.Kind}'", cancellationToken),
    };

    /// <summary>Joins a room the bot is (still) invited to. The join event comes back pushed, and that queues the resync.</summary>
    private async Task<string> JoinAsync(ClaimedJob job, CancellationToken ct)
    {
        string? membership = await BotMembershipAsync(job.RoomId, ct);
        if (membership != Memberships.Invite)
        {
            return await CompleteAsync(job, JobOutcomes.Skipped, $"bot membership is {membership ?? "unknown"}, not invite", ct);
        }

        await homeserver.JoinRoomAsync(job.RoomId, ct);
        Log.Joined(logger, job.RoomId, job.Attempts);
        return await CompleteAsync(job, JobOutcomes.Done, null, ct);
    }

    private async Task<string> ResyncAsync(ClaimedJob job, CancellationToken ct)
    {
        string? membership = await BotMembershipAsync(job.RoomId, ct);
        if (membership != Memberships.Join)
        {
            return await CompleteAsync(job, JobOutcomes.Skipped, $"bot membership is {membership ?? "unknown"}, not join", ct);
        }

        // The snapshot, fetched with no transaction open. Whatever the ingest applies from here on is newer than
        // (or as new as) the snapshot and survives it; see Resync.Plan. Members come from /members (every
        // membership, each with its event id); room info and the other state ids from /state, whose member events
        // are not used: one source per row, so the two answers cannot contradict each other.
        var startedAt = time.GetUtcNow();
        long keepSetSince = await NextProcessingOrderAsync(ct);
        var members = await homeserver.GetMembersAsync(job.RoomId, ct);
        var state = await homeserver.GetStateAsync(job.RoomId, ct);

        var strategy = db.Database.CreateExecutionStrategy();
        var (outcome, plan) = await strategy.ExecuteAsync(
            token => ApplyResyncAsync(job, members.Events, state.Events, startedAt, keepSetSince, token), ct);

        if (plan is null)
        {
            Log.ResyncNotApplied(logger, job.RoomId, outcome);
            return outcome;
        }

        AppServiceMetrics.SnapshotEntriesSkipped.Inc(members.Skipped + state.Skipped); // logged once below, with the job
        Log.Resynced(logger, job.RoomId, job.Reason, members.Events.Count, state.Events.Count, members.Skipped + state.Skipped,
            plan.MemberUpserts.Count, plan.MemberDeletes.Count, plan.KeptNewer);
        return outcome;
    }

    private async Task<(string Outcome, ResyncPlan? Plan)> ApplyResyncAsync(
        ClaimedJob job, IReadOnlyList<MatrixEvent> members, IReadOnlyList<MatrixEvent> state, DateTimeOffset startedAt, long keepSetSince, CancellationToken ct)
    {
        await using var dbTransaction = await db.Database.BeginTransactionAsync(ct);
        using var guard = hygiene.Guard(db.Database, dbTransaction, "resync"); // a failure here: the connection is not reused
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        var npgsqlTransaction = (NpgsqlTransaction)dbTransaction.GetDbTransaction();

        var batch = new NpgsqlBatch(connection, npgsqlTransaction);
        batch.BatchCommands.Add(Command(LockKeys, BigintArray([LockKey("room", job.RoomId)])));
        batch.BatchCommands.Add(Command(SelectRooms, TextArray([job.RoomId])));
        batch.BatchCommands.Add(Command(ResyncSql.SelectMembersSeen, Text(job.RoomId)));
        batch.BatchCommands.Add(Command(ResyncSql.SelectStateSeen, Text(job.RoomId)));
        batch.BatchCommands.Add(Command(ResyncSql.SelectRerun, Bigint(job.Id)));
        batch.BatchCommands.Add(Command(ResyncSql.LockLease, Bigint(job.Id), Timestamp(job.LockedUntil)));

        RoomInfo? room = null;
        var seenMembers = new List<SeenMember>();
        var seenState = new List<SeenState>();
        bool rerun = false;
        bool leaseHeld = false;
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            await reader.NextResultAsync(ct); // lock
            if (await reader.ReadAsync(ct))
            {
                room = ReadRoom(reader);
            }

            await reader.NextResultAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                seenMembers.Add(ResyncSql.ReadSeenMember(reader));
            }

            await reader.NextResultAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                seenState.Add(ResyncSql.ReadSeenState(reader));
            }

            await reader.NextResultAsync(ct);
            if (await reader.ReadAsync(ct))
            {
                rerun = reader.GetBoolean(0);
            }

            await reader.NextResultAsync(ct);
            leaseHeld = await reader.ReadAsync(ct);
        }

        if (!leaseHeld)
        {
            // The lease ran out while we fetched (a pause, a slow homeserver): the job may run elsewhere already,
            // with a newer snapshot. Write nothing; the job row is not ours to complete either.
            await dbTransaction.RollbackAsync(ct);
            return (JobOutcomes.LeaseLost, null);
        }

        var now = time.GetUtcNow();
        batch = new NpgsqlBatch(connection, npgsqlTransaction);
        string outcome;
        ResyncPlan? plan = null;
        if (room?.BotMembership != Memberships.Join)
        {
            // The bot left (or was kicked) while we fetched: the room is purged and must stay so.
            outcome = JobOutcomes.Skipped;
            batch.BatchCommands.Add(JobSql.CompleteCommand(job, now, outcome, "bot left the room during the resync"));
        }
        else if (rerun)
        {
            // Something asked for this resync again while we fetched (a re-join after a kick, a replaces_state
            // mismatch, a redaction of current state, an operator): the snapshot may predate it. Fetch again.
            outcome = JobOutcomes.Stale;
            batch.BatchCommands.Add(JobSql.CompleteCommand(job, now, outcome, "asked for again during the fetch", runAgain: true));
        }
        else
        {
            outcome = JobOutcomes.Done;
            plan = Resync.Plan(room, members, state, seenMembers, seenState, bot.UserId,
                keepSetSince, snapshotAt: startedAt, now);
            foreach (var command in ResyncSql.WritePlan(job.RoomId, plan))
            {
                batch.BatchCommands.Add(command);
            }

            // Recorded so a backlog copy is a duplicate, but only what the resync applied (review finding: a snapshot
            // event under a kept newer row was swallowed when the homeserver pushed it later).
            var snapshotEvents = members.Concat(state)
                .Where(e => plan.CurrentEventIds.Contains(e.EventId))
                .DistinctBy(e => e.EventId, StringComparer.Ordinal).ToList();
            if (snapshotEvents.Count > 0)
            {
                batch.BatchCommands.Add(Command(
                    ResyncSql.RecordSnapshotEvents,
                    TextArray(snapshotEvents.Select(e => e.EventId).ToArray()),
                    Text(job.RoomId),
                    Text($"resync:{job.Id}"),
                    Timestamp(now),
                    TextArray(snapshotEvents.Select(e => e.Type).ToArray())));
            }

            batch.BatchCommands.Add(JobSql.CompleteCommand(job, now, outcome,
                $"{members.Count} members, {state.Count} state events; {plan.MemberUpserts.Count} member rows written, {plan.MemberDeletes.Count} deleted, {plan.KeptNewer} newer rows kept"));
        }

        await batch.ExecuteNonQueryAsync(ct);
        await dbTransaction.CommitAsync(ct);
        return (outcome, plan);
    }

    /// <summary>
    /// Compares our joined members with <c>/joined_members</c>; a difference is logged, recorded (outcome 'drift',
    /// counted by /admin/v1/stats) and repaired by a resync queued in the same commit.
    /// </summary>
    private async Task<string> CheckDriftAsync(ClaimedJob job, CancellationToken ct)
    {
        string? membership = await BotMembershipAsync(job.RoomId, ct);
        if (membership != Memberships.Join)
        {
            return await CompleteAsync(job, JobOutcomes.Skipped, $"bot membership is {membership ?? "unknown"}, not join", ct);
        }

        long keepSetSince = await NextProcessingOrderAsync(ct);
        var joined = await homeserver.GetJoinedMembersAsync(job.RoomId, ct);
        var state = await homeserver.GetStateAsync(job.RoomId, ct);
        var (ours, room, seenState) = await LoadSeenAsync(job.RoomId, ct);
        var report = Drift.Compare(ours, joined, keepSetSince) with
        {
            StateDiffers = room is null ? [] : Drift.CompareRoomState(room, state.Events, seenState, keepSetSince, time.GetUtcNow()),
        };
        if (!report.Found)
        {
            return await CompleteAsync(job, JobOutcomes.Done, $"{joined.Count} joined members and the room state match", ct);
        }

        string detail = report.Describe();
        Log.DriftFound(logger, job.RoomId, detail);
        await ExecuteAsync(
            now =>
            [
                JobSql.InsertJobsCommand([new JobRequest(JobKinds.Resync, job.RoomId, JobReasons.Drift)], now),
                JobSql.CompleteCommand(job, now, JobOutcomes.Drift, detail),
            ],
            ct);
        signal.Notify();
        return JobOutcomes.Drift;
    }

    /// <summary>The processing-order number taken just before a fetch (see <see cref="Resync"/>): the database decides, no clock.</summary>
    private async Task<long> NextProcessingOrderAsync(CancellationToken ct)
    {
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var command = new NpgsqlCommand(ResyncSql.NextProcessingOrder, (NpgsqlConnection)db.Database.GetDbConnection());
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private Task<string?> BotMembershipAsync(string roomId, CancellationToken ct) =>
        db.Rooms.AsNoTracking().Where(r => r.RoomId == roomId).Select(r => r.BotMembership).SingleOrDefaultAsync(ct);

    /// <summary>The room's member rows, its room row and its state ids, each with when its event was processed (one round trip).</summary>
    private async Task<(List<SeenMember> Members, RoomInfo? Room, List<SeenState> State)> LoadSeenAsync(string roomId, CancellationToken ct)
    {
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var batch = new NpgsqlBatch((NpgsqlConnection)db.Database.GetDbConnection());
            batch.BatchCommands.Add(Command(ResyncSql.SelectMembersSeen, Text(roomId)));
            batch.BatchCommands.Add(Command(SelectRooms, TextArray([roomId])));
            batch.BatchCommands.Add(Command(ResyncSql.SelectStateSeen, Text(roomId)));
            await using var reader = await batch.ExecuteReaderAsync(ct);
            var members = new List<SeenMember>();
            while (await reader.ReadAsync(ct))
            {
                members.Add(ResyncSql.ReadSeenMember(reader));
            }

            await reader.NextResultAsync(ct);
            RoomInfo? room = await reader.ReadAsync(ct) ? ReadRoom(reader) : null;
            await reader.NextResultAsync(ct);
            var state = new List<SeenState>();
            while (await reader.ReadAsync(ct))
            {
                state.Add(ResyncSql.ReadSeenState(reader));
            }

            return (members, room, state);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private async Task<string> CompleteAsync(ClaimedJob job, string outcome, string? detail, CancellationToken ct)
    {
        await ExecuteAsync(now => [JobSql.CompleteCommand(job, now, outcome, detail)], ct);
        return outcome;
    }

    /// <summary>Runs the commands in one transaction (retried whole on a transient database fault).</summary>
    private Task ExecuteAsync(Func<DateTimeOffset, NpgsqlBatchCommand[]> commands, CancellationToken ct) =>
        db.Database.CreateExecutionStrategy().ExecuteAsync(async token =>
        {
            await using var dbTransaction = await db.Database.BeginTransactionAsync(token);
            using var guard = hygiene.Guard(db.Database, dbTransaction, "job");
            await using var batch = new NpgsqlBatch((NpgsqlConnection)db.Database.GetDbConnection(), (NpgsqlTransaction)dbTransaction.GetDbTransaction());
            foreach (var command in commands(time.GetUtcNow()))
            {
                batch.BatchCommands.Add(command);
            }

            await batch.ExecuteNonQueryAsync(token);
            await dbTransaction.CommitAsync(token);
        }, ct);
}
