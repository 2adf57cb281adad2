using AppService.Data;
using AppService.Matrix;
using AppService.Observability;
using AppService.Projections;
using Npgsql;

namespace AppService.Transactions;

/// <summary>
/// The change-log statements of one ingest (<see cref="ChangeLog.ForIngest"/>), riding the write batch: the rows a
/// purge deletes (logged from the table just before the delete) and every other change, as one unnest insert.
/// </summary>
internal sealed class ChangeWrites
{
    private readonly ChangeSet _set;

    private ChangeWrites(ChangeSet set, NpgsqlBatchCommand? purge)
    {
        _set = set;
        PurgeCommand = purge;
        Command = set.IsEmpty ? null : ChangeSql.InsertChangesCommand(set);
    }

    /// <summary>Logs the member rows of the purged rooms; null when the batch purges nothing.</summary>
    public NpgsqlBatchCommand? PurgeCommand { get; }

    /// <summary>The other change rows; null when the batch changes nothing.</summary>
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

        var purge = projection.PurgedRooms.Count > 0
            ? ChangeSql.InsertPurgeChangesCommand(ChangeLog.PurgeEvents(projection, applied))
            : null;
        return new ChangeWrites(ChangeLog.ForIngest(projection, applied), purge);
    }

    /// <summary>Counts what was written, once committed.</summary>
    public void Committed() =>
        AppServiceMetrics.CountChanges(_set, purged: PurgeCommand is null ? 0 : Math.Max(PurgeCommand.RecordsAffected, 0));
}
