using System.Security.Cryptography;
using System.Text;
using AppService.Data;
using AppService.Homeserver;
using AppService.Hosting;
using AppService.Matrix;
using AppService.Observability;
using AppService.Projections;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using static AppService.Data.IngestSql;

namespace AppService.Transactions;

/// <summary>What one call of <see cref="TransactionProcessor.ProcessAsync"/> did, after commit.</summary>
public sealed record IngestResult(bool Replayed, int NewEvents, int DuplicateEvents, int RejectedEvents)
{
    /// <summary>Events the safety net quarantined (<c>processing_failed</c>); they are part of <see cref="RejectedEvents"/>.</summary>
    public int QuarantinedEvents { get; init; }
}

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
    IOptions<AppServiceOptions> options,
    JobSignal jobSignal,
    ConnectionHygiene hygiene,
    ILogger<TransactionProcessor> logger)
{
    public async Task<IngestResult> ProcessAsync(string txnId, ParsedTransaction transaction, CancellationToken cancellationToken)
    {
        string ledgerId = LedgerId(txnId);
        IngestResult result;
        try
        {
            result = await ExecuteAsync(ledgerId, IngestUnit.Whole(transaction), cancellationToken);
        }
        catch (Exception ex) when (!AppServiceApi.IsTransient(ex) && !cancellationToken.IsCancellationRequested)
        {
            // Not the database being away: something in these events (or a bug in our projection code) fails every
            // time. The homeserver would retry this transaction forever and send nothing after it, so find the
            // event(s) that fail on their own, quarantine them, and apply the rest.
            result = await SalvageAsync(ledgerId, transaction, ex, cancellationToken);
        }

        AppServiceMetrics.RecordIngest(result, transaction);
        return result;
    }

    /// <summary>
    /// One unit in its own database transaction. A transient failure (connection lost, serialization failure,
    /// deadlock) re-runs the unit from scratch; the unique key makes a re-run after an unknown commit outcome harmless.
    /// </summary>
    private Task<IngestResult> ExecuteAsync(string ledgerId, IngestUnit unit, CancellationToken cancellationToken) =>
        db.Database.CreateExecutionStrategy().ExecuteAsync(
            async ct =>
            {
                try
                {
                    return await ProcessOnceAsync(ledgerId, unit, ct);
                }
                catch (Exception ex)
                {
                    AppServiceMetrics.CountDatabaseError(ex, "ingest"); // every failed attempt, retried or not
                    throw;
                }
            },
            cancellationToken);

    /// <summary>
    /// The safety net, run only after the whole transaction failed with a non-transient error. Applies the events again
    /// in halves, then quarters, ... down to single events, in order, each group in its own database transaction
    /// (own locks, own commit); an event that fails alone is quarantined as <c>processing_failed</c>. Then the parser's
    /// rejections, the quarantined events and the ledger row are written in a final transaction.
    /// <para>
    /// Exactly-once under a crash between groups: a committed group's events are in processed_events, so the
    /// homeserver's retry of the whole transaction sees them as duplicates and applies only the rest.
    /// A transient failure in any step propagates (503): nothing is quarantined because the database was away.
    /// </para>
    /// </summary>
    private async Task<IngestResult> SalvageAsync(string ledgerId, ParsedTransaction transaction, Exception failure, CancellationToken ct)
    {
        Log.TransactionSalvaging(logger, ledgerId, transaction.Events.Count, FailureText(failure));
        var events = DistinctById(transaction.Events);
        var quarantined = new List<RejectedEvent>();
        int newEvents = 0;

        // Depth-first over halves, left before right: events are applied in their order.
        var pending = new Stack<(int Start, int Count)>();
        if (events.Count > 1)
        {
            pending.Push((events.Count / 2, events.Count - (events.Count / 2)));
            pending.Push((0, events.Count / 2));
        }
        else if (events.Count == 1)
        {
            pending.Push((0, 1));
        }

        while (pending.TryPop(out var group))
        {
            var slice = events.GetRange(group.Start, group.Count);
            try
            {
                newEvents += (await ExecuteAsync(ledgerId, IngestUnit.Group(slice), ct)).NewEvents;
            }
            catch (Exception ex) when (!AppServiceApi.IsTransient(ex) && !ct.IsCancellationRequested)
            {
                if (group.Count == 1)
                {
                    quarantined.Add(Quarantine(transaction, slice[0], ex));
                    continue;
                }

                int half = group.Count / 2;
                pending.Push((group.Start + half, group.Count - half));
                pending.Push((group.Start, half));
            }
        }

        var final = await ExecuteAsync(ledgerId, IngestUnit.Final(transaction, quarantined, newEvents), ct);
        AppServiceMetrics.TransactionsSalvaged.Inc();
        return final with { QuarantinedEvents = quarantined.Count };
    }

    private RejectedEvent Quarantine(ParsedTransaction transaction, MatrixEvent e, Exception ex)
    {
        var raw = transaction.SourceOf(e);
        return new RejectedEvent(
            e.EventId,
            e.RoomId,
            e.Type,
            RejectionCodes.ProcessingFailed,
            MatrixText.Storable(FailureText(ex)),
            MatrixText.CutUtf8(raw.Span, options.Value.MaxEventBytes),
            raw.Length);
    }

    /// <summary>
    /// What is kept of an exception in rejected rows and logs: its type, and for PostgreSQL the SqlState and
    /// MessageText only. Detail, Where (the error context) and parameters can hold event content: never included.
    /// </summary>
    public static string FailureText(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is PostgresException pg)
            {
                return $"{pg.GetType().Name} {pg.SqlState}: {pg.MessageText}";
            }
        }

        var root = exception.GetBaseException();
        string message = root.Message.Length > 300 ? root.Message[..300] + "…" : root.Message;
        return $"{root.GetType().Name}: {message}";
    }

    /// <summary>txnIds are opaque strings; one longer than 255 characters is stored by its hash, never refused.</summary>
    public static string LedgerId(string txnId) => txnId.Length <= 255
        ? txnId
        : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(txnId)));

    private async Task<IngestResult> ProcessOnceAsync(string txnId, IngestUnit unit, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var transaction = unit.Transaction;
        var events = unit.Events;

        await using var dbTransaction = await db.Database.BeginTransactionAsync(ct);
        using var guard = hygiene.Guard(db.Database, dbTransaction, "ingest"); // a failure here: the connection is not reused
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
            Bytes(unit.ContentHash),
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
        // Prepared explicitly (once per connection; a no-op afterwards), not automatically: see CreateDataSource.
        await batch.PrepareAsync(ct);
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

        if (ledgerHash is not null && ledgerHash.AsSpan().SequenceEqual(unit.ContentHash))
        {
            // Same txnId, same events: a retry of something already committed. Nothing to do.
            await dbTransaction.CommitAsync(ct);
            Log.TransactionReplayed(logger, txnId, transaction.TotalEvents);
            return new IngestResult(Replayed: true, 0, events.Count, 0);
        }

        if (ledgerHash is not null && unit.WritesLedger)
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

        var rejected = unit.Rejected;
        if (rejected.Count > 0)
        {
            batch.BatchCommands.Add(InsertRejectedCommand(rejected, txnId, now));
        }

        // After the insert above: a redaction may target an event rejected in this same transaction.
        var redactions = events.Where(e => e.Redacts is not null && newIds.Contains(e.EventId)).Concat(unit.LateRedactions).ToList();
        if (redactions.Count > 0)
        {
            batch.BatchCommands.Add(RedactRejectedCommand(redactions));
        }

        if (unit.WritesLedger)
        {
            batch.BatchCommands.Add(Command(
                UpsertLedger,
                Text(txnId),
                Bytes(unit.ContentHash),
                Int(transaction.TotalEvents),
                Int(newIds.Count + unit.NewEventsBefore),
                Int(rejected.Count),
                Timestamp(now)));
        }

        if (batch.BatchCommands.Count > 0)
        {
            await batch.PrepareAsync(ct); // fixed SQL texts only, so the connection holds a bounded set of statements
            await batch.ExecuteNonQueryAsync(ct);
        }

        await dbTransaction.CommitAsync(ct);

        // Logged only once committed: a failing attempt that is retried rejected nothing.
        foreach (var r in rejected)
        {
            Log.EventRejected(logger, txnId, r.EventId is { } id ? MatrixText.StorableId(id) : null, r.Code, r.Reason);
        }

        foreach (var (e, change) in projection.MembershipChanges)
        {
            if (e.StateKey == bot.UserId)
            {
                Log.BotMembershipChanged(logger, e.RoomId, change, e.Sender);
            }
        }

        foreach (var m in projection.Mismatches)
        {
            Log.StateMismatches(logger, txnId, m);
            AppServiceMetrics.StateMismatches.Inc(m.Count);
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

        int newEvents = newIds.Count + unit.NewEventsBefore;
        return new IngestResult(Replayed: false, newEvents, unit.DistinctEvents - newEvents, rejected.Count);
    }

    /// <summary>
    /// What one database transaction applies: the whole parsed transaction (the normal path, one unit), or during the
    /// safety net a group of its events (no ledger row, no rejections) and finally the rejections and the ledger row.
    /// </summary>
    private sealed record IngestUnit(
        ParsedTransaction Transaction,
        List<MatrixEvent> Events,
        IReadOnlyList<RejectedEvent> Rejected,
        bool WritesLedger,
        int NewEventsBefore,
        int DistinctEvents)
    {
        /// <summary>
        /// The final unit's redactions: applied in their groups before the rejections they may target were stored, so
        /// they clear stored content here, after the insert (the update is idempotent).
        /// </summary>
        public IReadOnlyList<MatrixEvent> LateRedactions { get; init; } = [];

        /// <summary>A group carries no content hash: the ledger check never skips it.</summary>
        public byte[] ContentHash => WritesLedger ? Transaction.ContentHash : [];

        public static IngestUnit Whole(ParsedTransaction t)
        {
            var events = DistinctById(t.Events);
            return new(t, events, t.Rejected, WritesLedger: true, 0, events.Count);
        }

        public static IngestUnit Group(List<MatrixEvent> events) =>
            new(new ParsedTransaction(), events, [], WritesLedger: false, 0, events.Count);

        public static IngestUnit Final(ParsedTransaction t, List<RejectedEvent> quarantined, int newEvents)
        {
            var failed = quarantined.Select(q => q.EventId).ToHashSet(StringComparer.Ordinal);
            var events = DistinctById(t.Events);
            return new(t, [], [.. t.Rejected, .. quarantined], WritesLedger: true, newEvents, events.Count - quarantined.Count)
            {
                LateRedactions = events.Where(e => e.Redacts is not null && !failed.Contains(e.EventId)).ToList(),
            };
        }
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
