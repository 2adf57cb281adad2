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
                return await SettleNotJoinedAsync(job, membership, refused: null, ct);
            }
        }

        // The snapshot, fetched with no transaction open. Whatever the ingest applies from here on is newer than
        // (or as new as) the snapshot and survives it; see Resync.Plan. Members come from /members (every
        // membership, each with its event id); room info and the other state ids from /state, whose member events
        // are not used: one source per row, so the two answers cannot contradict each other.
        var startedAt = time.GetUtcNow();
        long keepSetSince = await NextProcessingOrderAsync(ct);
        StateSnapshot members, state;
        string fetching = "/members";
        try
        {
            members = await homeserver.GetMembersAsync(job.RoomId, ct);
            fetching = "/state";
            state = await homeserver.GetStateAsync(job.RoomId, ct);
        }
        catch (MatrixApiException ex) when (ex.StatusCode is 403 or 404 && membership == Memberships.Join)
        {
            // We hold the bot as joined, but the homeserver refuses the room: Synapse answers a banned bot 403 (a bot
            // that left or was kicked gets the state as of its leave, which the snapshot applies), and a ban of the bot
            // that did not follow what we hold was not applied (the stale-event rule), or never reached us. Retrying cannot help (the job failed for good, the room stayed 'join' and suspect with all its
            // members, and the drift check's 403 queued the next resync: for ever). /joined_rooms decides: not listed,
            // the room is settled as not joined; listed, the refusal is a real failure and the job retries as jobs do.
            if ((await homeserver.GetJoinedRoomsAsync(ct)).Contains(job.RoomId))
            {
                throw;
            }

            return await SettleNotJoinedAsync(job, membership, $"{ex.ErrCode} on {fetching}", ct);
        }

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
    /// bot's leave), loses any member rows (the bot is not in the room), and is no longer suspect: there is nothing newer
    /// to fetch. The bot's membership becomes the homeserver's when it can say it (<see cref="HomeserversBotMemberAsync"/>,
    /// fetched with no transaction open): a pushed leave of the bot that named an event we never held was not applied
    /// (the stale-event rule), and our <c>invite</c> must not outlive it (simulator, dendrite seed 4 under load). It is
    /// written as the pushed event would be (the change log, the purge naming the bot's leave or ban, a join queued for
    /// an invite), but no member row or member state id (the bot is not in the room), and the event is not recorded as
    /// processed (see below). Under the room lock and the job's lease; if the bot's membership changed since the
    /// job read it (its join was pushed meanwhile), nothing is written: that join queues its own resync, and a room left
    /// suspect is settled by another run. If the job was asked for again while it fetched, the answer may predate what
    /// asked: the room is settled, the answer is not applied, and the job runs again.
    /// <para>
    /// Ours may also be <c>join</c>: the snapshot's fetch was refused (<paramref name="refused"/>, a 403 or 404) and
    /// /joined_rooms does not list the room (a ban of the bot that did not follow what we hold, or was lost). The room
    /// is then settled the same way, but never with ours kept: the bot is not joined, so 'join' is the one membership
    /// it certainly does not have. When the homeserver cannot say (Synapse answers a banned bot 403), bot_membership
    /// is cleared to null, not set to 'leave': null is what we already hold when we know no membership of the bot
    /// (a room seen only through pushed events; "unknown" in the job's detail and the admin API), the change feed
    /// reports it as cleared, and every rule that reads it works on it: the drift sample (join rooms only) no longer
    /// picks the room, the /joined_rooms comparison (not 'join') resyncs it if the bot is joined after all, the next
    /// settle takes the homeserver's membership when it can say it, and a pushed event of the bot applies (first
    /// sight: no member state id is kept). 'leave' would claim an event no one sent, and mislead the feed's readers
    /// about a ban or an invite. Not when the job was asked for again during the fetch: a pushed join may be what
    /// asked, and it must win; the job runs again.
    /// </para>
    /// </summary>
    private async Task<string> SettleNotJoinedAsync(ClaimedJob job, string? membership, string? refused, CancellationToken ct)
    {
        var theirs = await HomeserversBotMemberAsync(job.RoomId, ct);
        string? theirMembership = theirs is null ? null : Memberships.Normalize(MatrixText.Get(theirs.Content, "membership"));
        var settled = await db.Database.CreateExecutionStrategy().ExecuteAsync(
            token => WriteSettleAsync(job, membership, refused, theirs, theirMembership, token), ct);
        if (settled.Changed)
        {
            Log.BotMembershipSettled(logger, job.RoomId, membership ?? "unknown", settled.Membership ?? "unknown");
        }

        Log.ResyncNotApplied(logger, job.RoomId, settled.Outcome);
        return settled.Outcome;
    }

    private async Task<(string Outcome, bool Changed, string? Membership)> WriteSettleAsync(
        ClaimedJob job, string? membership, string? refused, MatrixEvent? theirs, string? theirMembership, CancellationToken ct)
    {
        await using var tx = await SqlTransaction.BeginAsync(db, hygiene, "resync", ct);
        var (room, rerun, leaseHeld) = await ReadUnderRoomLockAsync(tx, job, more: null, ct);
        if (!leaseHeld)
        {
            // As the resync: the job may run elsewhere already, with a newer answer. Write nothing, complete nothing.
            await tx.RollbackAsync(ct);
            return (JobOutcomes.LeaseLost, false, null);
        }

        var now = time.GetUtcNow();
        await using var batch = tx.Batch();
        string outcome = JobOutcomes.Skipped;
        string? applied = null;
        bool changed = false;
        var changes = ChangeSet.Empty;
        string notJoined = refused is null ? "the homeserver says the bot is not joined" : $"the homeserver says the bot is not joined ({refused})";
        bool fromJoin = membership == Memberships.Join;
        if (room is not null && room.BotMembership == membership && (!fromJoin || !rerun))
        {
            // A join in the answer contradicts /joined_rooms (the bot joined since): its pushed join queues the resync.
            if (theirs is not null && theirMembership is not null && theirMembership != Memberships.Join
                && theirMembership != room.BotMembership && !rerun)
            {
                applied = theirMembership;
                changed = true;
            }
            else if (fromJoin)
            {
                // Ours is join and the homeserver cannot say (or says join, contradicting /joined_rooms): unknown, not
                // 'join' and not a made-up 'leave' (see SettleNotJoinedAsync). A join pushed later applies (first sight).
                changed = true;
            }

            if (changed)
            {
                changes = new ChangeSet([], [new RoomChange(job.RoomId, null, ChangeCauses.Resync,
                    ChangeLog.Diff(room, room with { BotMembership = applied, UpdatedAt = now }))]);
            }

            // The member rows it removes go to the change log as a purge, in the same commit (docs/change-feed.md),
            // named after the bot's leave or ban when that is what the homeserver said, as a pushed one would be.
            string? purgedBy = applied is Memberships.Leave or Memberships.Ban ? theirs!.EventId : null;
            batch.BatchCommands.Add(ChangeSql.InsertChangesCommand(changes, [(job.RoomId, purgedBy)]));
            batch.BatchCommands.Add(Command(ResyncSql.SettleNotJoined, Text(job.RoomId), Timestamp(now),
                Text(changed ? applied : room.BotMembership)));
            // Not recorded as processed, unlike a resync's snapshot events: the settle keeps no state id for the bot's key,
            // so an older event of the bot that a backlog pushes later is first sight and applies, and this event,
            // pushed after it, must apply too to bring the membership back (recorded, it was swallowed as a duplicate:
            // simulator, dendrite seed 4 under load, a backlog's ban after the settled unban ended 'ban'). Pushed again
            // with nothing in between, it applies the same membership: no change, no change row.
            if (applied == Memberships.Invite && invitePolicy.Enabled && invitePolicy.Allows(theirs!.Sender))
            {
                // What the pushed invite would have queued (AppService:AutoJoin); its join is pushed and resyncs.
                batch.BatchCommands.Add(JobSql.InsertJobsCommand([new JobRequest(JobKinds.Join, job.RoomId, JobReasons.Invite)], now));
            }

            batch.BatchCommands.Add(JobSql.CompleteCommand(job, now, outcome,
                SettleDetail(notJoined, membership, theirMembership, changed, applied, rerun)));
        }
        else if (room is not null && room.BotMembership == membership)
        {
            // Ours is join and the job was asked for again while it fetched: a pushed join of the bot (the refusal and
            // /joined_rooms predate it) must win over our settle. Nothing written; run again, as below.
            outcome = JobOutcomes.Stale;
            batch.BatchCommands.Add(JobSql.CompleteCommand(job, now, outcome,
                $"{notJoined}; asked for again during the fetch (ours: {membership ?? "unknown"}): nothing written; running again",
                runAgain: true));
        }
        else if (room?.Suspect == true)
        {
            // The bot's membership changed while we fetched (a pushed ban, leave or join) and the room is still suspect:
            // it must not be left so with no job (a join queues its resync; a leave or ban queues nothing). Run again.
            outcome = JobOutcomes.Stale;
            batch.BatchCommands.Add(JobSql.CompleteCommand(job, now, outcome,
                $"the bot's membership changed during the settle (ours: {membership ?? "unknown"}, now {room.BotMembership ?? "unknown"}); running again to settle the suspect room",
                runAgain: true));
        }
        else
        {
            batch.BatchCommands.Add(JobSql.CompleteCommand(job, now, outcome, room is null
                ? $"{notJoined}; the room is unknown: nothing written"
                : $"{notJoined}; the bot's membership changed during the settle (ours: {membership ?? "unknown"}, now {room.BotMembership ?? "unknown"}): nothing written"));
        }

        await batch.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        AppServiceMetrics.CountChanges(changes, purged: 0);
        if (applied == Memberships.Invite)
        {
            signal.Notify();
        }

        return (outcome, changed, applied);
    }

    private static string SettleDetail(string notJoined, string? ours, string? theirs, bool changed, string? applied, bool rerun)
    {
        string said = theirs is null ? "the homeserver could not say the bot's membership" : $"the homeserver says the bot's membership is {theirs}";
        string result = changed ? $"bot membership {ours ?? "unknown"} -> {applied ?? "unknown"}"
            : rerun && theirs is not null && theirs != ours ? $"not applied (asked for again during the fetch; running again), ours kept: {ours ?? "unknown"}"
            : $"ours kept: {ours ?? "unknown"}";
        return $"{notJoined}; {said}; {result}; member rows removed, room no longer suspect";
    }

    /// <summary>
    /// The bot's own member event as the homeserver holds it, asked for as the departed bot (<c>GET /members</c>); null
    /// when it cannot say (403/404, or no member event of the bot in the answer). Any other failure throws: the job
    /// retries as jobs do. What the homeservers answer a user who is not joined:
    /// <list type="bullet">
    /// <item>Synapse (<c>synapse/handlers/message.py</c> <c>get_state_events</c>, <c>synapse/api/auth</c>
    /// <c>check_user_in_room</c> with <c>allow_departed_users=True</c>): a user whose current membership is
    /// <c>leave</c> (left, kicked, invite rejected or revoked, unbanned) and who has not forgotten the room gets the
    /// state as of that leave event, which holds the leave itself; a joined user, or anyone in a
    /// <c>world_readable</c> room, the current state; an invited, banned or knocking user, or one who forgot the
    /// room, <c>403</c> (<c>M_FORBIDDEN</c>).</item>
    /// <item>Dendrite (<c>syncapi/routing/memberships.go</c> <c>GetMemberships</c>): a user with any membership
    /// event in the room (<c>HasBeenInRoom</c>) who is not joined gets the memberships as of that latest event
    /// (invite and ban included); a user with none, <c>403</c>.</item>
    /// </list>
    /// So the bot's event in a successful answer is its current one at the time of the answer.
    /// </summary>
    private async Task<MatrixEvent?> HomeserversBotMemberAsync(string roomId, CancellationToken ct)
    {
        try
        {
            var members = await homeserver.GetMembersAsync(roomId, ct);
            return members.Events.LastOrDefault(e => e.StateKey == bot.UserId);
        }
        catch (MatrixApiException ex) when (ex.StatusCode is 403 or 404)
        {
            return null;
        }
    }

    /// <summary>
    /// The first round trip of every write of a resync job (the resync's and the not-joined settle's): the room's
    /// advisory lock, the room row, the job's own reads (<paramref name="more"/>, after the room's), whether the job was
    /// asked for again while it fetched, and whether its lease is still held (if not, the caller writes nothing).
    /// </summary>
    private static async Task<(RoomInfo? Room, bool Rerun, bool LeaseHeld)> ReadUnderRoomLockAsync(
        SqlTransaction tx, ClaimedJob job, Action<QueryBatch>? more, CancellationToken ct)
    {
        RoomInfo? room = null;
        bool rerun = false;
        bool leaseHeld = false;
        await using var reads = tx.QueryBatch();
        reads.Add(Command(LockKeys, BigintArray([LockKey("room", job.RoomId)])), _ => { });
        reads.Add(Command(SelectRooms, TextArray([job.RoomId])), r => room = ReadRoom(r));
        more?.Invoke(reads);
        reads.Add(Command(ResyncSql.SelectRerun, Bigint(job.Id)), r => rerun = r.GetBoolean(0));
        reads.Add(Command(ResyncSql.LockLease, Bigint(job.Id), Timestamp(job.LockedUntil)), _ => leaseHeld = true);
        await reads.ExecuteAsync(ct);
        return (room, rerun, leaseHeld);
    }

    private async Task<(string Outcome, ResyncPlan? Plan)> ApplyResyncAsync(
        ClaimedJob job, string? membershipAtStart, IReadOnlyList<MatrixEvent> members, IReadOnlyList<MatrixEvent> state, DateTimeOffset startedAt, long keepSetSince, CancellationToken ct)
    {
        await using var tx = await SqlTransaction.BeginAsync(db, hygiene, "resync", ct); // a failure: the connection is not reused

        var seenMembers = new List<SeenMember>();
        var seenState = new List<SeenState>();
        var (room, rerun, leaseHeld) = await ReadUnderRoomLockAsync(tx, job, reads =>
        {
            reads.Add(Command(ResyncSql.SelectMembersSeen, Text(job.RoomId)), r => seenMembers.Add(ResyncSql.ReadSeenMember(r)));
            reads.Add(Command(ResyncSql.SelectStateSeen, Text(job.RoomId)), r => seenState.Add(ResyncSql.ReadSeenState(r)));
        }, ct);
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
