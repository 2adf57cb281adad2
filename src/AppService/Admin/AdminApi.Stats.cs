using AppService.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace AppService.Admin;

// The admin API: row counts of every table, for dashboards and the simulator's oracle.
public static partial class AdminApi
{
    /// <summary>
    /// One statement for the counts (large tables by their planner estimate unless <paramref name="exact"/>, StatsSql),
    /// and the quarantine by reason code (rejected_events is small: events are rejected rarely and age out).
    /// </summary>
    internal static async Task<Ok<StatsResponse>> GetStatsAsync(AppDbContext db, bool? exact, CancellationToken ct)
    {
        var response = StatsSql.ToResponse(await StatsSql.QueryAsync(db, exact ?? false, ct));
        var byReason = await db.RejectedEvents
            .GroupBy(r => r.ReasonCode)
            .Select(g => new { Code = g.Key, Count = g.LongCount() })
            .ToDictionaryAsync(g => g.Code, g => g.Count, ct);
        return TypedResults.Ok(response with { EventsRejectedByReason = byReason });
    }
}
