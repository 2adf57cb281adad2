using System.Security.Cryptography;
using System.Text;
using AppService.Data;
using AppService.Homeserver;
using AppService.Hosting;
using AppService.Matrix;
using AppService.Projections;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using static AppService.Data.IngestSql;

namespace AppService.Transactions;

/// <summary>What one call of <see cref="TransactionProcessor.ProcessAsync"/> did, after commit.</summary>
public sealed record IngestResult(bool Replayed, int NewEvents, int DuplicateEvents, int RejectedEvents);

/// <summary>
/// Applies one homeserver transaction in ONE database transaction: lock the txnId and its rooms, insert the event ids
/// into <c>processed_events</c> (the unique key decides what is new), project only the new events in order, store
/// rejected events, record the ledger row, commit. The caller answers 200 only after this returns.
/// Homeserver work the events call for (join, resync) is only queued here, in the same commit, and run later by
/// the job worker: no homeserver I/O inside the transaction, nothing that delays the 200.
/// </summary>
public sealed class TransactionProcessor(
    AppDbContext db,
    BotIdentity bot,
    TimeProvider time,
    InvitePolicy invitePolicy,
    JobSignal jobSignal,
    ILogger<TransactionProcessor> logger)
{
    public async Task<IngestResult> ProcessAsync(string txnId, ParsedTransaction transaction, CancellationToken cancellationToken)
    {
        string ledgerId = LedgerId(txnId);
        var strategy = db.Database.CreateExecutionStrategy();

        // A transient failure (connection lost, serialization failure, deadlock) re-runs the whole unit from
        // scratch; the unique key makes a re-run after an unknown commit outcome harmless.
        var result = await strategy.ExecuteAsync(
            async ct =>
            {
                try
                {
                    return await ProcessOnceAsync(ledgerId, transaction, ct);
                }
                catch (Exception ex)
                {
                    AppServiceMetrics.CountDatabaseError(ex, "ingest"); // every failed attempt, retried or not
                    throw;
                }
            },
            cancellationToken);
        AppServiceMetrics.RecordIngest(result, transaction);
        return result;
    }

    /// <summary>txnIds are opaque strings; one longer than 255 characters is stored by its hash, never refused.</summary>
    public static string LedgerId(string txnId) => txnId.Length <= 255
        ? txnId
        : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(txnId)));

    private async Task<IngestResult> ProcessOnceAsync(string txnId, ParsedTransaction transaction, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var events = DistinctById(transaction.Events);

        await using var dbTransaction = await db.Database.BeginTransactionAsync(ct);
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        var npgsqlTransaction = (NpgsqlTransaction)dbTransaction.GetDbTransaction();

        var roomIds = events.Select(e => e.RoomId).Distinct(StringComparer.Ordinal).ToArray();
        var memberKeys = events
            .Where(e => e.IsState && e.Type == EventTypes.Member)
            .Select(e => (e.RoomId, UserId: e.StateKey!))
            .Distinct()
            .ToArray();

        // Batch 1: locks, ledger, the exactly-once insert, and the current state of everything the events touch.
        var batch = new NpgsqlBatch(connection, npgsqlTransaction);
        var lockKeys = roomIds.Select(r => LockKey("room", r)).Append(LockKey("txn", txnId)).ToArray();
        batch.BatchCommands.Add(Command(LockKeys, BigintArray(lockKeys)));
        batch.BatchCommands.Add(Command(SelectLedgerHash, Text(txnId)));
        batch.BatchCommands.Add(Command(
            InsertProcessedEvents,
            TextArray(events.Select(e => e.EventId).ToArray()),
            TextArray(events.Select(e => e.RoomId).ToArray()),
            TextArray(events.Select(e => e.Type).ToArray()),
            Text(txnId),
            Bytes(transaction.ContentHash),
            Timestamp(now),
            TextArray(events.Select(e => e.IsState && e.ReplacesState is not null ? e.StateKey : null).ToArray()),
            TextArray(events.Select(e => e.Redacts).ToArray())));
        batch.BatchCommands.Add(Command(SelectRooms, TextArray(roomIds)));
        batch.BatchCommands.Add(Command(
            SelectMembers,
            TextArray(memberKeys.Select(k => k.RoomId).ToArray()),
            TextArray(memberKeys.Select(k => k.UserId).ToArray())));

        var projection = new ProjectionBatch(bot.UserId, now, invitePolicy.Enabled, invitePolicy);
        Dictionary<string, MatrixEvent>? byId = null;
        var newIds = new HashSet<string>(StringComparer.Ordinal);
        byte[]? ledgerHash = null;
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            await reader.NextResultAsync(ct); // lock
            if (await reader.ReadAsync(ct))
            {
                ledgerHash = reader.GetFieldValue<byte[]>(0);
            }

            await reader.NextResultAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                string eventId = reader.GetString(0);
                newIds.Add(eventId);
                if (!reader.IsDBNull(1) || !reader.IsDBNull(2))
                {
                    // The id we hold for the key this new state event replaces, or the key its redaction target sets.
                    byId ??= events.ToDictionary(e => e.EventId, StringComparer.Ordinal);
                    var e = byId[eventId];
                    if (!reader.IsDBNull(1))
                    {
                        projection.LoadState(e.RoomId, e.Type, e.StateKey!, reader.GetString(1));
                    }

                    if (!reader.IsDBNull(2))
                    {
                        var (key, member, targetSender) = ReadRedactionTarget(reader, 2, now);
                        projection.LoadState(key.RoomId, key.Type, key.StateKey, e.Redacts!, targetSender);
                        if (member is not null)
                        {
                            projection.LoadMember(member);
                        }
                    }
                }
            }

            await reader.NextResultAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                projection.LoadRoom(ReadRoom(reader));
            }

            await reader.NextResultAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                projection.LoadMember(ReadMember(reader));
            }
        }

        if (ledgerHash is not null && ledgerHash.AsSpan().SequenceEqual(transaction.ContentHash))
        {
            // Same txnId, same events: a retry of something already committed. Nothing to do.
            await dbTransaction.CommitAsync(ct);
            Log.TransactionReplayed(logger, txnId, transaction.TotalEvents);
            return new IngestResult(Replayed: true, 0, events.Count, 0);
        }

        if (ledgerHash is not null)
        {
            Log.TransactionIdReused(logger, txnId, transaction.TotalEvents);
        }

        foreach (var e in events)
        {
            if (newIds.Contains(e.EventId))
            {
                projection.Apply(e);
            }
        }

        // Batch 2: write what changed, the rejected events and the ledger row.
        batch = new NpgsqlBatch(connection, npgsqlTransaction);
        if (projection.PurgedRooms.Count > 0)
        {
            var purged = projection.PurgedRooms.Order(StringComparer.Ordinal).ToArray();
            batch.BatchCommands.Add(Command(PurgeMembers, TextArray(purged)));
            batch.BatchCommands.Add(Command(PurgeMemberState, TextArray(purged)));
        }

        var rooms = projection.DirtyRooms.ToList();
        if (rooms.Count > 0)
        {
            batch.BatchCommands.Add(UpsertRoomsCommand(rooms));
        }

        var members = projection.DirtyMembers.ToList();
        if (members.Count > 0)
        {
            batch.BatchCommands.Add(UpsertMembersCommand(members));
        }

        if (projection.StateWrites.Count > 0)
        {
            batch.BatchCommands.Add(UpsertStateCommand(projection.StateWrites, projection.SenderOf));
        }

        // The homeserver work these events call for, durable with them: a crash after commit loses no job.
        var jobs = projection.Jobs.ToList();
        var rerunResyncRooms = projection.RerunResyncRooms.ToList();
        if (jobs.Count > 0 || rerunResyncRooms.Count > 0)
        {
            batch.BatchCommands.Add(JobSql.InsertJobsCommand(jobs, now, rerunResyncRooms));
        }

        var rejected = transaction.Rejected;
        if (rejected.Count > 0)
        {
            batch.BatchCommands.Add(Command(
                InsertRejected,
                TextArray(rejected.Select(r => r.EventId).ToArray()),
                TextArray(rejected.Select(r => r.RoomId).ToArray()),
                TextArray(rejected.Select(r => r.Type).ToArray()),
                TextArray(rejected.Select(r => r.Reason).ToArray()),
                Text(txnId),
                TextArray(rejected.Select(r => r.RawJson).ToArray()),
                Timestamp(now)));
            foreach (var r in rejected)
            {
                Log.EventRejected(logger, txnId, r.EventId, r.Reason);
            }
        }

        batch.BatchCommands.Add(Command(
            UpsertLedger,
            Text(txnId),
            Bytes(transaction.ContentHash),
            Int(transaction.TotalEvents),
            Int(newIds.Count),
            Int(rejected.Count),
            Timestamp(now)));

        await batch.ExecuteNonQueryAsync(ct);
        await dbTransaction.CommitAsync(ct);

        foreach (var (e, change) in projection.MembershipChanges)
        {
            if (e.StateKey == bot.UserId)
            {
                Log.BotMembershipChanged(logger, e.RoomId, change, e.Sender);
            }
        }

        foreach (var m in projection.Mismatches)
        {
            Log.StateMismatch(logger, m.RoomId, m.Type, m.StateKey, m.EventId, m.ReplacesEventId, m.HeldEventId);
        }

        foreach (var r in projection.Redactions)
        {
            Log.StateRedacted(logger, r.RoomId, r.Type, r.StateKey, r.EventId);
        }

        foreach (var invite in projection.RefusedInvites)
        {
            Log.InviteRefused(logger, invite.RoomId, invite.Sender);
            AppServiceMetrics.InvitesRefused.Inc();
        }

        foreach (var r in projection.UnappliedRedactions)
        {
            Log.RedactionNotApplied(logger, r.RoomId, r.RedactionEventId, r.Redacter, r.TargetEventId, r.Type, r.StateKey, r.Verdict);
            AppServiceMetrics.RedactionsNotApplied.WithLabels(r.Verdict == RedactionVerdict.Refused ? "refused" : "undecided").Inc();
        }

        if (jobs.Count > 0)
        {
            foreach (var job in jobs)
            {
                Log.JobQueued(logger, job.Kind, job.RoomId, job.Reason);
            }

            jobSignal.Notify();
        }

        return new IngestResult(Replayed: false, newIds.Count, events.Count - newIds.Count, rejected.Count);
    }

    /// <summary>The same event twice in one transaction is applied once, at its first position.</summary>
    private static List<MatrixEvent> DistinctById(List<MatrixEvent> events)
    {
        var seen = new HashSet<string>(events.Count, StringComparer.Ordinal);
        var result = new List<MatrixEvent>(events.Count);
        foreach (var e in events)
        {
            if (seen.Add(e.EventId))
            {
                result.Add(e);
            }
        }

        return result;
    }
}
