using AppService.Data;
using AppService.Matrix;
using AppService.Observability;
using AppService.Projections;
using Npgsql;

namespace AppService.Transactions;

/// <summary>
/// The change-log statement of one ingest (<see cref="ChangeLog.ForIngest"/>), riding the write batch: one insert of
/// the rows a purge deletes (logged from the table, so it runs before the delete) and of every other change.
/// </summary>
internal sealed class ChangeWrites
{
    private readonly ChangeSet _set;

    private ChangeWrites(ChangeSet set, IReadOnlyList<(string RoomId, string? EventId)> purges)
    {
        _set = set;
        Command = set.IsEmpty && purges.Count == 0 ? null : ChangeSql.InsertChangesCommand(set, purges);
    }

    /// <summary>The change rows; null when the batch changes nothing. Must come before the purge's delete.</summary>
    public NpgsqlBatchCommand? Command { get; }

    public static ChangeWrites Of(ProjectionBatch projection, IngestUnit unit, HashSet<string> newIds)
    {
        var applied = new List<MatrixEvent>(newIds.Count);
        foreach (var e in unit.Events)
        {
            if (newIds.Contains(e.EventId))
            {
                applied.Add(e);
            }
        }

        var purges = projection.PurgedRooms.Count > 0 ? ChangeLog.PurgeEvents(projection, applied) : [];
        return new ChangeWrites(ChangeLog.ForIngest(projection, applied), purges);
    }

    /// <summary>Counts what was written, once committed.</summary>
    public void Committed() =>
        AppServiceMetrics.CountChanges(_set, purged: Command is null ? 0 : Math.Max(Command.RecordsAffected - _set.Members.Count - _set.Rooms.Count, 0));
}
