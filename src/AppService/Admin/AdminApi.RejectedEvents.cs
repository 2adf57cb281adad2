using System.Globalization;
using AppService.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace AppService.Admin;

// The admin API: the quarantine: events the ingest stored instead of applying (docs/api.md "Input safety").
public static partial class AdminApi
{
    /// <summary>Keyset paging on the identity id, newest first: the token is the last id of the page.</summary>
    internal static async Task<Results<Ok<RejectedEventsPage>, ValidationProblem>> ListRejectedEventsAsync(
        AppDbContext db, [FromQuery(Name = "room_id")] string? roomId, string? reason, string? from, int? limit, CancellationToken ct)
    {
        if (Paging.CheckLimit(limit, out int pageSize) is { } invalid)
        {
            return invalid;
        }

        long? before = null;
        if (!string.IsNullOrEmpty(from))
        {
            if (Paging.DecodeToken(from, prefix: "r") is not { } value || !long.TryParse(value[1..], NumberStyles.None, CultureInfo.InvariantCulture, out long id))
            {
                return Paging.InvalidFrom();
            }

            before = id;
        }

        var query = db.RejectedEvents.AsNoTracking();
        if (roomId is not null)
        {
            query = query.Where(r => r.RoomId == roomId);
        }

        if (reason is not null)
        {
            query = query.Where(r => r.ReasonCode == reason);
        }

        if (before is not null)
        {
            query = query.Where(r => r.Id < before);
        }

        var rows = await query
            .OrderByDescending(r => r.Id)
            .Take(pageSize + 1)
            .Select(r => new RejectedEventResponse(
                r.Id, r.EventId, r.RoomId, r.EventType, r.ReasonCode, r.Reason, r.TxnId, r.RejectedAt, r.ContentBytes, r.Content, r.RedactedBy))
            .ToListAsync(ct);
        var (page, next) = Paging.Cut(rows, pageSize, r => "r" + r.Id.ToString(CultureInfo.InvariantCulture));
        return TypedResults.Ok(new RejectedEventsPage(page, next));
    }
}
