using AppService.Data;
using AppService.Projections;
using static AppService.Data.IngestSql;
using static AppService.Data.SqlParameters;

namespace AppService.Transactions;

/// <summary>
/// Step 3 of a transaction, one round trip with the commit: write back what the projection changed (purged rooms
/// first, then rooms, members and state, each sorted by key; no member keys in state: a member key's current event is
/// its member row's), the jobs the events call for, the rejected events, the redactions of rejected events, and the
/// ledger row. Fixed SQL texts only, so a connection holds a bounded set of prepared statements.
/// </summary>
internal static class IngestWrite
{
    public static async Task RunAndCommitAsync(
        SqlTransaction tx, string ledgerId, IngestUnit unit, ProjectionBatch projection, HashSet<string> newIds, DateTimeOffset now, CancellationToken ct)
    {
        await using var batch = tx.Batch();
        var commands = batch.BatchCommands;
        var changes = ChangeWrites.Of(projection, unit, newIds);
        if (changes.Command is { } changeRows)
        {
            commands.Add(changeRows); // the change log, in this same commit; first: it logs the rows the purge deletes
        }

        if (projection.PurgedRooms.Count > 0)
        {
            string?[] purged = [.. projection.PurgedRooms.Order(StringComparer.Ordinal)];
            commands.Add(Command(PurgeMembers, TextArray(purged)));
        }

        var rooms = projection.DirtyRooms.ToList();
        if (rooms.Count > 0)
        {
            commands.Add(UpsertRoomsCommand(rooms));
        }

        var members = projection.DirtyMembers.ToList();
        if (members.Count > 0)
        {
            commands.Add(UpsertMembersCommand(members));
        }

        if (projection.StateWrites.Count > 0)
        {
            commands.Add(UpsertStateCommand(projection.StateWrites, projection.SenderOf));
        }

        var pendingRedactions = projection.NewPendingRedactions.ToList();
        if (pendingRedactions.Count > 0)
        {
            commands.Add(InsertPendingRedactionsCommand(pendingRedactions, now));
        }

        if (projection.ResolvedPendingRedactions.Count > 0)
        {
            commands.Add(Command(DeletePendingRedactions, TextArray([.. projection.ResolvedPendingRedactions])));
        }

        // The homeserver work these events call for, durable with them: a crash after commit loses no job.
        var jobs = projection.Jobs.ToList();
        var rerunResyncRooms = projection.RerunResyncRooms.ToList();
        if (jobs.Count > 0 || rerunResyncRooms.Count > 0)
        {
            commands.Add(JobSql.InsertJobsCommand(jobs, now, rerunResyncRooms));
        }

        if (unit.Rejected.Count > 0)
        {
            commands.Add(InsertRejectedCommand(unit.Rejected, ledgerId, now));
        }

        // After the insert above: a redaction may target an event rejected in this same transaction.
        var redactions = unit.Events.Where(e => e.Redacts is not null && newIds.Contains(e.EventId)).Concat(unit.LateRedactions).ToList();
        if (redactions.Count > 0)
        {
            commands.Add(RedactRejectedCommand(redactions));
        }

        if (unit.WritesLedger)
        {
            commands.Add(Command(
                UpsertLedger,
                Text(ledgerId),
                Bytes(unit.ContentHash),
                Int(unit.Transaction.TotalEvents),
                Int(newIds.Count + unit.NewEventsBefore),
                Int(unit.Rejected.Count),
                Timestamp(now),
                TextArray([.. unit.Rejected.Where(r => r.EventId is not null).Select(r => Matrix.MatrixText.StorableId(r.EventId))])));
        }

        await tx.ExecuteAndCommitAsync(batch, ct);
        changes.Committed();
    }
}
