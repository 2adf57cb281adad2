using AppService.Data;
using AppService.Matrix;
using AppService.Projections;
using static AppService.Data.IngestSql;
using static AppService.Data.SqlParameters;

namespace AppService.Transactions;

/// <summary>What the first batch found: the ledger row of the txnId, if any, and which events are new.</summary>
internal sealed record LoadedState(byte[]? LedgerHash, HashSet<string> NewIds)
{
    /// <summary>Same txnId, same events: a retry of something already committed.</summary>
    public bool IsReplayOf(IngestUnit unit) => LedgerHash is not null && LedgerHash.AsSpan().SequenceEqual(unit.ContentHash);
}

/// <summary>
/// Step 1 of a transaction, one round trip: take the locks (the txnId and every room, ascending), read the ledger,
/// insert the event ids into <c>processed_events</c> (the exactly-once gate: what it inserts is new), and load into the
/// <see cref="ProjectionBatch"/> the state everything the new events touch: their rooms, the member rows of their
/// member events (which are also the ids held for the member keys they replace), the ids held for the other keys they
/// replace and the targets of their redactions. The order of the callbacks does not matter: each seeds what it read.
/// </summary>
internal static class IngestLoad
{
    public static async Task<LoadedState> RunAsync(
        SqlTransaction tx, string ledgerId, IngestUnit unit, ProjectionBatch projection, DateTimeOffset now, CancellationToken ct)
    {
        var events = unit.Events;
        var columns = new EventColumns(events);
        var rooms = new HashSet<string>(StringComparer.Ordinal);
        var memberKeys = new HashSet<(string RoomId, string UserId)>();
        foreach (var e in events)
        {
            rooms.Add(e.RoomId);
            if (e.IsState && e.Type == EventTypes.Member)
            {
                memberKeys.Add((e.RoomId, e.StateKey!));
            }
        }

        // The txnId's key first (a salvage holds it across its groups, which do not take it), then the rooms', ascending.
        var roomKeys = rooms.Select(r => LockKey("room", r)).Distinct().Order();
        long[] lockKeys = unit.LocksTxn ? [LockKey("txn", ledgerId), .. roomKeys] : [.. roomKeys];

        byte[]? ledgerHash = null;
        var newIds = new HashSet<string>(events.Count, StringComparer.Ordinal);
        Dictionary<string, MatrixEvent>? byId = null;

        await using var batch = tx.QueryBatch();
        batch.Add(Command(IngestPlanSettings), _ => { });
        batch.Add(Command(LockKeys, BigintArray(lockKeys)), _ => { });
        batch.Add(Command(SelectLedgerHash, Text(ledgerId)), r => ledgerHash = r.GetFieldValue<byte[]>(0));
        batch.Add(
            Command(
                InsertProcessedEvents,
                TextArray(columns.EventIds),
                TextArray(columns.RoomIds),
                TextArray(columns.Types),
                Text(ledgerId),
                Bytes(unit.ContentHash),
                Timestamp(now),
                TextArray(columns.StateKeys),
                TextArray(columns.RedactionIds),
                TextArray(columns.RedactionTargets)),
            r =>
            {
                string eventId = r.GetString(0);
                newIds.Add(eventId);
                if (r.IsDBNull(1) && r.IsDBNull(2) && r.IsDBNull(3) && r.IsDBNull(4))
                {
                    return;
                }

                // The id we hold for the key of this new state event (not a member event: its member row, read below,
                // holds it), or the key its redaction target sets.
                byId ??= events.ToDictionary(e => e.EventId, StringComparer.Ordinal);
                var e = byId[eventId];
                if (!r.IsDBNull(1))
                {
                    projection.LoadState(e.RoomId, e.Type, e.StateKey!, r.GetString(1));
                }

                if (!r.IsDBNull(2))
                {
                    var (key, member, targetSender) = ReadRedactionTarget(r, 2);
                    projection.LoadState(key.RoomId, key.Type, key.StateKey, e.Redacts!, targetSender);
                    if (member is not null)
                    {
                        projection.LoadMember(member);
                    }
                }

                if (!r.IsDBNull(3))
                {
                    projection.LoadProcessedTarget(e.Redacts!, isState: r.GetBoolean(3));
                }

                if (!r.IsDBNull(4))
                {
                    string[] pending = r.GetFieldValue<string[]>(4); // redaction_event_id, sender
                    projection.LoadPendingRedaction(eventId, e.RoomId, pending[0], pending[1]);
                }
            });
        batch.Add(Command(SelectRoomsForIngest, TextArray([.. rooms])), r => projection.LoadRoom(ReadRoom(r)));
        batch.Add(
            Command(SelectMembers, TextArray([.. memberKeys.Select(m => m.RoomId)]), TextArray([.. memberKeys.Select(m => m.UserId)])),
            r => projection.LoadMember(ReadMember(r)));
        await batch.ExecuteAsync(ct);

        return new LoadedState(ledgerHash, newIds);
    }

    /// <summary>The parameters of <see cref="InsertProcessedEvents"/>, one array per column, filled in one pass.</summary>
    private sealed class EventColumns
    {
        public EventColumns(List<MatrixEvent> events)
        {
            int n = events.Count;
            EventIds = new string?[n];
            RoomIds = new string?[n];
            Types = new string?[n];
            StateKeys = new string?[n];
            List<string?>? redactionIds = null, redactionTargets = null;
            for (int i = 0; i < n; i++)
            {
                var e = events[i];
                EventIds[i] = e.EventId;
                RoomIds[i] = e.RoomId;
                Types[i] = e.Type;
                StateKeys[i] = e.StateKey;
                if (e.Redacts is not null)
                {
                    (redactionIds ??= []).Add(e.EventId);
                    (redactionTargets ??= []).Add(e.Redacts);
                }
            }

            RedactionIds = redactionIds?.ToArray() ?? [];
            RedactionTargets = redactionTargets?.ToArray() ?? [];
        }

        public string?[] EventIds { get; }

        public string?[] RoomIds { get; }

        public string?[] Types { get; }

        /// <summary>The state_key of a state event (the projection compares the id we hold for its key), else null.</summary>
        public string?[] StateKeys { get; }

        /// <summary>The event ids of the redactions among the events (in order), and what each redacts.</summary>
        public string?[] RedactionIds { get; }

        public string?[] RedactionTargets { get; }
    }
}
