using AppService.Data;
using AppService.Matrix;
using AppService.Observability;
using AppService.Projections;
using Microsoft.EntityFrameworkCore;
using static AppService.Data.IngestSql;
using static AppService.Data.SqlParameters;

namespace AppService.Homeserver;

/// <summary>
/// The resync job: a snapshot of the room (<c>/members</c>, <c>/state</c>) fetched with no transaction open, then
/// written in one transaction under the room lock and the job's lease, keeping whatever the ingest applied since.
/// </summary>
public sealed partial class RoomJobs
{
    private async Task<string> ResyncAsync(ClaimedJob job, CancellationToken ct)
    {
        string? membership = await BotMembershipAsync(job.RoomId, ct);
        if (membership != Memberships.Join)
        {
            // Our projection says the bot is not in the room, but a backlog can make a membership up: the homeserver
            // decides. Joined there: resync as usual (the snapshot sets the bot's membership). Not joined: nothing can be
            // fetched, and the room is settled as not joined (no member rows, not suspect).
            if (!(await homeserver.GetJoinedRoomsAsync(ct)).Contains(job.RoomId))
            {
                return await SettleNotJoinedAsync(job, membership, ct);
            }
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
            token => ApplyResyncAsync(job, membership, members.Events, state.Events, startedAt, keepSetSince, token), ct);

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

    /// <summary>
    /// The homeserver says the bot is not joined, and so does our projection: the room keeps its RoomInfo (as of the
    /// bot's leave) and bot membership, loses any member rows (the bot is not in the room), and is no longer suspect:
    /// there is nothing newer to fetch. Under the room lock; if the bot's membership changed since the job read it (its
    /// join was pushed meanwhile), nothing is written: that join queues its own resync.
    /// </summary>
    private async Task<string> SettleNotJoinedAsync(ClaimedJob job, string? membership, CancellationToken ct)
    {
        string detail = $"the homeserver says the bot is not joined (our membership: {membership ?? "unknown"}); member rows removed, room no longer suspect";
        await db.Database.CreateExecutionStrategy().ExecuteAsync(async token =>
        {
            await using var tx = await SqlTransaction.BeginAsync(db, hygiene, "resync", token);
            RoomInfo? room = null;
            await using (var reads = tx.QueryBatch())
            {
                reads.Add(Command(LockKeys, BigintArray([LockKey("room", job.RoomId)])), _ => { });
                reads.Add(Command(SelectRooms, TextArray([job.RoomId])), r => room = ReadRoom(r));
                await reads.ExecuteAsync(token);
            }

            await using var batch = tx.Batch();
            if (room is not null && room.BotMembership == membership && membership != Memberships.Join)
            {
                // The member rows it removes go to the change log as a purge, in the same commit (docs/change-feed.md).
                batch.BatchCommands.Add(ChangeSql.InsertChangesCommand(ChangeSet.Empty, [(job.RoomId, null)]));
                batch.BatchCommands.Add(Command(ResyncSql.SettleNotJoined, Text(job.RoomId), Timestamp(time.GetUtcNow())));
            }

            batch.BatchCommands.Add(JobSql.CompleteCommand(job, time.GetUtcNow(), JobOutcomes.Skipped, detail));
            await batch.ExecuteNonQueryAsync(token);
            await tx.CommitAsync(token);
        }, ct);
        Log.ResyncNotApplied(logger, job.RoomId, JobOutcomes.Skipped);
        return JobOutcomes.Skipped;
    }

    private async Task<(string Outcome, ResyncPlan? Plan)> ApplyResyncAsync(
        ClaimedJob job, string? membershipAtStart, IReadOnlyList<MatrixEvent> members, IReadOnlyList<MatrixEvent> state, DateTimeOffset startedAt, long keepSetSince, CancellationToken ct)
    {
        await using var tx = await SqlTransaction.BeginAsync(db, hygiene, "resync", ct); // a failure: the connection is not reused

        RoomInfo? room = null;
        var seenMembers = new List<SeenMember>();
        var seenState = new List<SeenState>();
        bool rerun = false;
        bool leaseHeld = false;
        await using (var reads = tx.QueryBatch())
        {
            reads.Add(Command(LockKeys, BigintArray([LockKey("room", job.RoomId)])), _ => { });
            reads.Add(Command(SelectRooms, TextArray([job.RoomId])), r => room = ReadRoom(r));
            reads.Add(Command(ResyncSql.SelectMembersSeen, Text(job.RoomId)), r => seenMembers.Add(ResyncSql.ReadSeenMember(r)));
            reads.Add(Command(ResyncSql.SelectStateSeen, Text(job.RoomId)), r => seenState.Add(ResyncSql.ReadSeenState(r)));
            reads.Add(Command(ResyncSql.SelectRerun, Bigint(job.Id)), r => rerun = r.GetBoolean(0));
            reads.Add(Command(ResyncSql.LockLease, Bigint(job.Id), Timestamp(job.LockedUntil)), _ => leaseHeld = true);
            await reads.ExecuteAsync(ct);
        }

        if (!leaseHeld)
        {
            // The lease ran out while we fetched (a pause, a slow homeserver): the job may run elsewhere already,
            // with a newer snapshot. Write nothing; the job row is not ours to complete either.
            await tx.RollbackAsync(ct);
            return (JobOutcomes.LeaseLost, null);
        }

        var now = time.GetUtcNow();
        await using var batch = tx.Batch();
        string outcome;
        ResyncPlan? plan = null;
        var changes = ChangeSet.Empty;
        if (room is null || (room.BotMembership != Memberships.Join && room.BotMembership != membershipAtStart))
        {
            // The bot left (or was kicked) while we fetched: the room is purged and must stay so. (A room we resync on
            // the homeserver's word that the bot is joined, our membership unchanged since, goes on.)
            if (room?.Suspect == true)
            {
                // A suspect room must not be left so with no job: run again, and the next run settles it (the homeserver's
                // /joined_rooms decides) or resyncs it (simulator seed 2, dendrite mode: suspect for good before).
                outcome = JobOutcomes.Stale;
                batch.BatchCommands.Add(JobSql.CompleteCommand(job, now, outcome, "bot left the room during the resync; running again to settle the suspect room", runAgain: true));
            }
            else
            {
                outcome = JobOutcomes.Skipped;
                batch.BatchCommands.Add(JobSql.CompleteCommand(job, now, outcome, "bot left the room during the resync"));
            }
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

            changes = ChangeLog.ForResync(room, seenMembers, plan);
            if (!changes.IsEmpty)
            {
                batch.BatchCommands.Add(ChangeSql.InsertChangesCommand(changes)); // the change log, same commit
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
                    TextArray(snapshotEvents.Select(e => e.Type).ToArray()),
                    TextArray(snapshotEvents.Select(e => e.StateKey).ToArray())));
            }

            batch.BatchCommands.Add(JobSql.CompleteCommand(job, now, outcome,
                $"{members.Count} members, {state.Count} state events; {plan.MemberUpserts.Count} member rows written, {plan.MemberDeletes.Count} deleted, {plan.KeptNewer} newer rows kept"));
        }

        await batch.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        AppServiceMetrics.CountChanges(changes, purged: 0);
        return (outcome, plan);
    }
}
