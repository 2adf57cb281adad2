using System.Security.Cryptography;
using System.Text;
using AppService.Data;
using AppService.Matrix;
using AppService.Projections;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using static AppService.Data.IngestSql;

namespace AppService.Transactions;

/// <summary>What one call of <see cref="TransactionProcessor.ProcessAsync"/> did, after commit.</summary>
public sealed record IngestResult(bool Replayed, int NewEvents, int DuplicateEvents, int RejectedEvents);

/// <summary>
/// Applies one homeserver transaction in ONE database transaction: lock the txnId and its rooms, insert the event ids
/// into <c>processed_events</c> (the unique key decides what is new), project only the new events in order, store
/// rejected events, record the ledger row, commit. The caller answers 200 only after this returns.
/// </summary>
public sealed class TransactionProcessor(AppDbContext db, BotIdentity bot, TimeProvider time, ILogger<TransactionProcessor> logger)
{
    public async Task<IngestResult> ProcessAsync(string txnId, ParsedTransaction transaction, CancellationToken cancellationToken)
    {
        string ledgerId = LedgerId(txnId);
        var strategy = db.Database.CreateExecutionStrategy();

        // A transient failure (connection lost, serialization failure, deadlock) re-runs the whole unit from
        // scratch; the unique key makes a re-run after an unknown commit outcome harmless.
        return await strategy.ExecuteAsync(ct => ProcessOnceAsync(ledgerId, transaction, ct), cancellationToken);
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
            Timestamp(now)));
        batch.BatchCommands.Add(Command(SelectRooms, TextArray(roomIds)));
        batch.BatchCommands.Add(Command(
            SelectMembers,
            TextArray(memberKeys.Select(k => k.RoomId).ToArray()),
            TextArray(memberKeys.Select(k => k.UserId).ToArray())));

        var projection = new ProjectionBatch(bot.UserId, now);
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
                newIds.Add(reader.GetString(0));
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
            var state = projection.StateWrites
                .OrderBy(s => s.Key.RoomId, StringComparer.Ordinal)
                .ThenBy(s => s.Key.Type, StringComparer.Ordinal)
                .ThenBy(s => s.Key.StateKey, StringComparer.Ordinal)
                .ToList();
            batch.BatchCommands.Add(Command(
                UpsertState,
                TextArray(state.Select(s => s.Key.RoomId).ToArray()),
                TextArray(state.Select(s => s.Key.Type).ToArray()),
                TextArray(state.Select(s => s.Key.StateKey).ToArray()),
                TextArray(state.Select(s => s.Value).ToArray())));
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
