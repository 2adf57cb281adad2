using AppService.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace AppService.Admin;

/// <summary>Row counts of every table, for dashboards and the simulator's oracle.</summary>
public static class StatsApi
{
    public static RouteGroupBuilder MapStatsApi(this RouteGroupBuilder admin)
    {
        admin.MapGet("/stats", GetStatsAsync)
            .WithSummary("Row counts of the ledger, the processed and rejected events, the projections and the jobs; tables of 100,000 rows or more by the planner's estimate (listed in 'estimated') unless exact=true.");
        return admin;
    }

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
