using Microsoft.EntityFrameworkCore;

namespace AppService.Admin;

/// <summary>
/// <c>GET /admin/v1/stats</c> in one statement. Counting every row of <c>processed_events</c> (30 days of every
/// event) or <c>room_members</c> takes seconds at scale, so a table whose planner estimate
/// (<c>pg_class.reltuples</c>, kept by autovacuum/ANALYZE) is at least <see cref="EstimateFrom"/> rows is reported
/// by that estimate, unless <c>exact=true</c>; <c>joined_members</c> then uses the estimate times the share of
/// <c>join</c> in the column statistics. Smaller tables, and the job counts (the jobs table is bounded by its
/// retention, one scan for the three), are always counted. A counting subquery in the branch a CASE does not take is never run.
/// </summary>
internal static class StatsSql
{
    public const long EstimateFrom = 100_000;

    private const string Sql = """
        SELECT
          CASE WHEN pe.big THEN pe.n ELSE (SELECT count(*) FROM processed_events) END AS "EventsProcessed",
          pe.big AS "EventsProcessedEstimated",
          CASE WHEN re.big THEN re.n ELSE (SELECT count(*) FROM rejected_events) END AS "EventsRejected",
          re.big AS "EventsRejectedEstimated",
          CASE WHEN tl.big THEN tl.n ELSE (SELECT count(*) FROM txn_ledger) END AS "Transactions",
          tl.big AS "TransactionsEstimated",
          CASE WHEN ro.big THEN ro.n ELSE (SELECT count(*) FROM rooms) END AS "Rooms",
          ro.big AS "RoomsEstimated",
          CASE WHEN rm.big THEN rm.n ELSE (SELECT count(*) FROM room_members) END AS "Members",
          rm.big AS "MembersEstimated",
          CASE WHEN rm.big AND jf.freq IS NOT NULL THEN (rm.n * jf.freq)::bigint
               ELSE (SELECT count(*) FROM room_members WHERE membership = 'join') END AS "JoinedMembers",
          rm.big AND jf.freq IS NOT NULL AS "JoinedMembersEstimated",
          jo.pending AS "JobsPending",
          jo.failed AS "JobsFailed",
          jo.drift AS "DriftDetected"
        FROM
          (SELECT count(*) FILTER (WHERE completed_at IS NULL) AS pending, count(*) FILTER (WHERE outcome = 'failed') AS failed,
                  count(*) FILTER (WHERE outcome = 'drift') AS drift FROM jobs) jo,
          (SELECT GREATEST(reltuples, 0)::bigint AS n, NOT EXACT AND reltuples >= ESTIMATE_FROM AS big FROM pg_class WHERE oid = 'processed_events'::regclass) pe,
          (SELECT GREATEST(reltuples, 0)::bigint AS n, NOT EXACT AND reltuples >= ESTIMATE_FROM AS big FROM pg_class WHERE oid = 'rejected_events'::regclass) re,
          (SELECT GREATEST(reltuples, 0)::bigint AS n, NOT EXACT AND reltuples >= ESTIMATE_FROM AS big FROM pg_class WHERE oid = 'txn_ledger'::regclass) tl,
          (SELECT GREATEST(reltuples, 0)::bigint AS n, NOT EXACT AND reltuples >= ESTIMATE_FROM AS big FROM pg_class WHERE oid = 'rooms'::regclass) ro,
          (SELECT GREATEST(reltuples, 0)::bigint AS n, NOT EXACT AND reltuples >= ESTIMATE_FROM AS big FROM pg_class WHERE oid = 'room_members'::regclass) rm
          LEFT JOIN LATERAL (
            SELECT f.freq FROM pg_stats s, unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS f(val, freq)
            WHERE s.schemaname = current_schema() AND s.tablename = 'room_members' AND s.attname = 'membership' AND f.val = 'join'
          ) jf ON true
        """;

    public sealed class Row
    {
        public long EventsProcessed { get; set; }
        public bool EventsProcessedEstimated { get; set; }
        public long EventsRejected { get; set; }
        public bool EventsRejectedEstimated { get; set; }
        public long Transactions { get; set; }
        public bool TransactionsEstimated { get; set; }
        public long Rooms { get; set; }
        public bool RoomsEstimated { get; set; }
        public long Members { get; set; }
        public bool MembersEstimated { get; set; }
        public long JoinedMembers { get; set; }
        public bool JoinedMembersEstimated { get; set; }
        public long JobsPending { get; set; }
        public long JobsFailed { get; set; }
        public long DriftDetected { get; set; }
    }

    /// <summary>The statement as sent (scripts/admin-explain.sql holds a copy; AdminExplainScriptTests keeps the two equal).</summary>
    public static string Text(bool exact) => Sql
        .Replace("EXACT", exact ? "true" : "false", StringComparison.Ordinal)
        .Replace("ESTIMATE_FROM", EstimateFrom.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    public static Task<Row> QueryAsync(Data.AppDbContext db, bool exact, CancellationToken ct) =>
        db.Database.SqlQueryRaw<Row>(Text(exact)).SingleAsync(ct);

    public static StatsResponse ToResponse(Row r)
    {
        var estimated = new List<string>();
        void Add(bool isEstimate, string field)
        {
            if (isEstimate)
            {
                estimated.Add(field);
            }
        }

        Add(r.EventsProcessedEstimated, "events_processed");
        Add(r.EventsRejectedEstimated, "events_rejected");
        Add(r.TransactionsEstimated, "transactions");
        Add(r.RoomsEstimated, "rooms");
        Add(r.MembersEstimated, "members");
        Add(r.JoinedMembersEstimated, "joined_members");
        return new StatsResponse(
            r.EventsProcessed, r.EventsRejected, r.Transactions, r.Rooms, r.Members, r.JoinedMembers,
            r.JobsPending, r.JobsFailed, r.DriftDetected, estimated);
    }
}
