using AppService.Data;
using AppService.Matrix;
using AppService.Observability;
using AppService.Projections;
using AppService.Transactions;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using static AppService.Data.IngestSql;
using static AppService.Data.SqlParameters;

namespace AppService.Homeserver;

/// <summary>
/// Runs one claimed job: join, resync or drift check. Homeserver calls happen with no transaction open; database
/// writes come after, each in one short transaction that also completes the job. Any exception leaves the job to
/// the worker's backoff (<see cref="JobWorker"/>). The resync, the largest, is in RoomJobs.Resync.cs.
/// </summary>
public sealed partial class RoomJobs(
    AppDbContext db,
    HomeserverClient homeserver,
    BotIdentity bot,
    TimeProvider time,
    JobSignal signal,
    ConnectionHygiene hygiene,
    InvitePolicy invitePolicy,
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

    /// <summary>
    /// Compares our joined members with <c>/joined_members</c> and RoomInfo with <c>/state</c>; a difference is logged,
    /// labelled (<see cref="DriftKinds"/>), recorded (outcome 'drift', counted by /admin/v1/stats and
    /// <c>appservice_drift_found_total{kind}</c>) and repaired by a resync queued in the same commit. A 403 from the
    /// homeserver means the bot is not joined there: drift of the bot's membership, repaired the same way.
    /// </summary>
    private async Task<string> CheckDriftAsync(ClaimedJob job, CancellationToken ct)
    {
        string? membership = await BotMembershipAsync(job.RoomId, ct);
        if (membership != Memberships.Join)
        {
            return await CompleteAsync(job, JobOutcomes.Skipped, $"bot membership is {membership ?? "unknown"}, not join", ct);
        }

        long keepSetSince = await NextProcessingOrderAsync(ct);
        IReadOnlyDictionary<string, JoinedMember> joined;
        try
        {
            joined = await homeserver.GetJoinedMembersAsync(job.RoomId, ct);
        }
        catch (MatrixApiException ex) when (ex.StatusCode == 403)
        {
            return await DriftFoundAsync(job, [DriftKinds.BotMembership], $"the homeserver says the bot is not joined ({ex.ErrCode} on /joined_members)", ct);
        }

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

        var theirIds = state.Events.Where(e => e.StateKey == "" && report.StateDiffers.Contains(e.Type)).Select(e => e.EventId).ToArray();
        var kinds = Drift.Classify(report, state.Events, seenState, await ProcessedSeqAsync(theirIds, ct));
        return await DriftFoundAsync(job, kinds, report.Describe(), ct);
    }

    private async Task<string> DriftFoundAsync(ClaimedJob job, IReadOnlyList<string> kinds, string description, CancellationToken ct)
    {
        string detail = $"{description}; found: {string.Join(", ", kinds)}";
        Log.DriftFound(logger, job.RoomId, detail);
        foreach (string kind in kinds)
        {
            AppServiceMetrics.DriftFound.WithLabels(kind).Inc();
        }

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

    /// <summary>The processing order of those of <paramref name="eventIds"/> we processed.</summary>
    private async Task<IReadOnlyDictionary<string, long>> ProcessedSeqAsync(string[] eventIds, CancellationToken ct)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        if (eventIds.Length == 0)
        {
            return result;
        }

        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var command = new NpgsqlCommand(ResyncSql.SelectProcessedSeq, (NpgsqlConnection)db.Database.GetDbConnection());
            command.Parameters.Add(TextArray(eventIds));
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                if (!reader.IsDBNull(1))
                {
                    result[reader.GetString(0)] = reader.GetInt64(1);
                }
            }

            return result;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
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
            var members = new List<SeenMember>();
            RoomInfo? room = null;
            var state = new List<SeenState>();
            await using var reads = new QueryBatch(new NpgsqlBatch((NpgsqlConnection)db.Database.GetDbConnection()));
            reads.Add(Command(ResyncSql.SelectMembersSeen, Text(roomId)), r => members.Add(ResyncSql.ReadSeenMember(r)));
            reads.Add(Command(SelectRooms, TextArray([roomId])), r => room = ReadRoom(r));
            reads.Add(Command(ResyncSql.SelectStateSeen, Text(roomId)), r => state.Add(ResyncSql.ReadSeenState(r)));
            await reads.ExecuteAsync(ct);
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
            await using var tx = await SqlTransaction.BeginAsync(db, hygiene, "job", token);
            await using var batch = tx.Batch();
            foreach (var command in commands(time.GetUtcNow()))
            {
                batch.BatchCommands.Add(command);
            }

            await batch.ExecuteNonQueryAsync(token);
            await tx.CommitAsync(token);
        }, ct);
}
