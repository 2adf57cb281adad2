using System.Text;
using AppService.Data;
using AppService.Homeserver;
using AppService.Matrix;
using AppService.Projections;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace AppService.Admin;

/// <summary>Read access to the projections for operators: <c>/admin/v1</c>, behind the admin bearer token.</summary>
public static class AdminApi
{
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1000;

    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/admin/v1")
            .AddEndpointFilter<AdminAuthFilter>()
            .AddEndpointFilter<RawPathIdFilter>()
            .AddEndpointFilter<NulParameterFilter>()
            .ProducesValidationProblem()
            .WithTags("Admin")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        group.MapGet("/rooms", ListRoomsAsync)
            .WithSummary("List rooms, ordered by room id, a page at a time (pass next_batch back as 'from').");
        group.MapGet("/rooms/{roomId}", GetRoomAsync)
            .WithSummary("One room's projected state.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/rooms/{roomId}/members", GetMembersAsync)
            .WithSummary("A room's member rows, a page at a time. Who is in the room: membership=join. No filter: every stored row, leave and ban included.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/users/{userId}/rooms", GetUserRoomsAsync)
            .WithSummary("The rooms a user has a member row in, a page at a time; filter by membership (join: the rooms the user is in).");
        group.MapGet("/events/{eventId}", GetEventAsync)
            .WithSummary("Whether and when an event was processed, and in which transaction.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/rooms/{roomId}/resync", ResyncRoomAsync)
            .WithSummary("Queue a resync of the room from the homeserver's /members and /state (202 with the job id).")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/jobs", ListJobsAsync)
            .WithSummary("Homeserver jobs (join, resync, drift_check), newest first; state open (default), failed or all.");
        group.MapGet("/jobs/{jobId:long}", GetJobAsync)
            .WithSummary("One homeserver job: attempts, outcome, last error.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/rejected-events", ListRejectedEventsAsync)
            .WithSummary("Quarantined events, newest first, a page at a time (pass next_batch back as 'from'); filter by room_id and reason (the reason code).");
        group.MapGet("/stats", GetStatsAsync)
            .WithSummary("Row counts of the ledger, the processed and rejected events, the projections and the jobs; tables of 100,000 rows or more by the planner's estimate (listed in 'estimated') unless exact=true.");
        return group;
    }

    internal static async Task<Results<Ok<RoomsPage>, ValidationProblem>> ListRoomsAsync(
        AppDbContext db, string? from, int? limit, CancellationToken ct)
    {
        int pageSize = limit ?? DefaultPageSize;
        if (pageSize is < 1 or > MaxPageSize)
        {
            return Invalid("limit", $"limit must be between 1 and {MaxPageSize}.");
        }

        string? after = null;
        if (!string.IsNullOrEmpty(from) && (after = DecodeToken(from, "!")) is null)
        {
            return Invalid("from", "from must be a next_batch token from a previous page.");
        }

        var query = db.Rooms.AsNoTracking();
        if (after is not null)
        {
            query = query.Where(r => string.Compare(r.RoomId, after) > 0);
        }

        var rooms = await ProjectRooms(db, query.OrderBy(r => r.RoomId).Take(pageSize + 1)).ToListAsync(ct);
        string? next = rooms.Count > pageSize ? EncodeToken(rooms[pageSize - 1].RoomId) : null;
        return TypedResults.Ok(new RoomsPage(rooms.Take(pageSize).ToList(), next));
    }

    internal static async Task<Results<Ok<RoomInfoResponse>, ProblemHttpResult>> GetRoomAsync(
        AppDbContext db, string roomId, CancellationToken ct)
    {
        var room = await ProjectRooms(db, db.Rooms.AsNoTracking().Where(r => r.RoomId == roomId)).SingleOrDefaultAsync(ct);
        return room is null ? NotFound("room", roomId) : TypedResults.Ok(room);
    }

    /// <summary>
    /// A room's member rows, ordered by user id, a page at a time. No membership filter gives every stored row
    /// (leave and ban included), as before paging; "who is in the room" is <c>membership=join</c>.
    /// </summary>
    internal static async Task<Results<Ok<MembersResponse>, ProblemHttpResult, ValidationProblem>> GetMembersAsync(
        AppDbContext db, string roomId, string? membership, string? from, int? limit, CancellationToken ct)
    {
        if (CheckPage(membership, from, limit, '@', out int pageSize, out string? after) is { } invalid)
        {
            return invalid;
        }

        if (!await db.Rooms.AnyAsync(r => r.RoomId == roomId, ct))
        {
            return NotFound("room", roomId);
        }

        var query = db.RoomMembers.AsNoTracking().Where(m => m.RoomId == roomId);
        if (membership is not null)
        {
            query = query.Where(m => m.Membership == membership);
        }

        if (after is not null)
        {
            query = query.Where(m => string.Compare(m.UserId, after) > 0);
        }

        var members = await query
            .OrderBy(m => m.UserId)
            .Take(pageSize + 1)
            .Select(m => new MemberResponse(m.UserId, m.Membership, m.DisplayName, m.AvatarUrl, m.EventId, m.Sender, m.UpdatedAt))
            .ToListAsync(ct);
        string? next = members.Count > pageSize ? EncodeToken(members[pageSize - 1].UserId) : null;
        return TypedResults.Ok(new MembersResponse(members.Take(pageSize).ToList(), next));
    }

    internal static async Task<Results<Ok<UserRoomsResponse>, ValidationProblem>> GetUserRoomsAsync(
        AppDbContext db, string userId, string? membership, string? from, int? limit, CancellationToken ct)
    {
        if (CheckPage(membership, from, limit, '!', out int pageSize, out string? after) is { } invalid)
        {
            return invalid;
        }

        var query = db.RoomMembers.AsNoTracking().Where(m => m.UserId == userId);
        if (membership is not null)
        {
            query = query.Where(m => m.Membership == membership);
        }

        if (after is not null)
        {
            query = query.Where(m => string.Compare(m.RoomId, after) > 0);
        }

        var rooms = await query.OrderBy(m => m.RoomId).Take(pageSize + 1).Select(m => new UserRoomResponse(m.RoomId, m.Membership)).ToListAsync(ct);
        string? next = rooms.Count > pageSize ? EncodeToken(rooms[pageSize - 1].RoomId) : null;
        return TypedResults.Ok(new UserRoomsResponse(rooms.Take(pageSize).ToList(), next));
    }

    /// <summary>The membership filter and the paging parameters of a list; <paramref name="sigil"/> starts every id of the list.</summary>
    private static ValidationProblem? CheckPage(string? membership, string? from, int? limit, char sigil, out int pageSize, out string? after)
    {
        pageSize = limit ?? DefaultPageSize;
        after = null;
        if (membership is not null && !Memberships.All.Contains(membership))
        {
            return Invalid("membership", "membership must be one of join, invite, leave, ban, knock.");
        }

        if (pageSize is < 1 or > MaxPageSize)
        {
            return Invalid("limit", $"limit must be between 1 and {MaxPageSize}.");
        }

        if (!string.IsNullOrEmpty(from) && (after = DecodeToken(from, sigil.ToString())) is null)
        {
            return Invalid("from", "from must be a next_batch token from a previous page.");
        }

        return null;
    }

    internal static async Task<Results<Ok<EventResponse>, ProblemHttpResult>> GetEventAsync(
        AppDbContext db, string eventId, CancellationToken ct)
    {
        var e = await db.ProcessedEvents.AsNoTracking()
            .Where(p => p.EventId == eventId)
            .Select(p => new EventResponse(p.EventId, p.RoomId, p.TxnId, p.ProcessedAt))
            .SingleOrDefaultAsync(ct);
        return e is null ? NotFound("event", eventId) : TypedResults.Ok(e);
    }

    /// <summary>
    /// Queues a resync (or folds into the one already queued, making it due now). 409 when the bot is not joined:
    /// the homeserver only shows a room's state to its members.
    /// </summary>
    internal static async Task<Results<Accepted<JobQueuedResponse>, ProblemHttpResult>> ResyncRoomAsync(
        AppDbContext db, JobSignal signal, TimeProvider time, string roomId, CancellationToken ct)
    {
        var room = await db.Rooms.AsNoTracking().Where(r => r.RoomId == roomId).Select(r => new { r.BotMembership }).SingleOrDefaultAsync(ct);
        if (room is null)
        {
            return NotFound("room", roomId);
        }

        if (room.BotMembership != Memberships.Join)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "The bot is not joined",
                detail: $"The bot's membership in '{roomId}' is {room.BotMembership ?? "unknown"}; only a joined bot can read the room's state.");
        }

        long jobId = await JobSql.EnqueueNowAsync(db, new JobRequest(JobKinds.Resync, roomId, JobReasons.Admin), time.GetUtcNow(), ct);
        signal.Notify();
        return TypedResults.Accepted($"/admin/v1/jobs/{jobId}", new JobQueuedResponse(jobId, roomId, JobKinds.Resync));
    }

    internal static async Task<Results<Ok<JobsResponse>, ValidationProblem>> ListJobsAsync(
        AppDbContext db, string? state, [FromQuery(Name = "room_id")] string? roomId, int? limit, CancellationToken ct)
    {
        int pageSize = limit ?? DefaultPageSize;
        if (pageSize is < 1 or > MaxPageSize)
        {
            return Invalid("limit", $"limit must be between 1 and {MaxPageSize}.");
        }

        var query = db.Jobs.AsNoTracking();
        switch (state ?? "open")
        {
            case "open":
                query = query.Where(j => j.CompletedAt == null);
                break;
            case "failed":
                query = query.Where(j => j.Outcome == JobOutcomes.Failed);
                break;
            case "all":
                break;
            default:
                return Invalid("state", "state must be one of open, failed, all.");
        }

        if (roomId is not null)
        {
            query = query.Where(j => j.RoomId == roomId);
        }

        var jobs = await ProjectJobs(query.OrderByDescending(j => j.Id).Take(pageSize)).ToListAsync(ct);
        return TypedResults.Ok(new JobsResponse(jobs));
    }

    internal static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> GetJobAsync(AppDbContext db, long jobId, CancellationToken ct)
    {
        var job = await ProjectJobs(db.Jobs.AsNoTracking().Where(j => j.Id == jobId)).SingleOrDefaultAsync(ct);
        return job is null ? NotFound("job", jobId.ToString(System.Globalization.CultureInfo.InvariantCulture)) : TypedResults.Ok(job);
    }

    /// <summary>Keyset paging on the identity id, newest first: the token is the last id of the page.</summary>
    internal static async Task<Results<Ok<RejectedEventsPage>, ValidationProblem>> ListRejectedEventsAsync(
        AppDbContext db, [FromQuery(Name = "room_id")] string? roomId, string? reason, string? from, int? limit, CancellationToken ct)
    {
        int pageSize = limit ?? DefaultPageSize;
        if (pageSize is < 1 or > MaxPageSize)
        {
            return Invalid("limit", $"limit must be between 1 and {MaxPageSize}.");
        }

        long? before = null;
        if (!string.IsNullOrEmpty(from))
        {
            if (DecodeToken(from, prefix: "r") is not { } value || !long.TryParse(value[1..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long id))
            {
                return Invalid("from", "from must be a next_batch token from a previous page.");
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
        string? next = rows.Count > pageSize
            ? EncodeToken("r" + rows[pageSize - 1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture))
            : null;
        return TypedResults.Ok(new RejectedEventsPage(rows.Take(pageSize).ToList(), next));
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

    private static IQueryable<RoomInfoResponse> ProjectRooms(AppDbContext db, IQueryable<RoomInfo> rooms) =>
        rooms.Select(r => new RoomInfoResponse(
            r.RoomId, r.Name, r.Topic, r.CanonicalAlias, r.AvatarUrl, r.JoinRule, r.HistoryVisibility, r.Encryption,
            r.RoomVersion, r.Creator, r.RoomType, r.PredecessorRoomId, r.TombstoneSuccessor,
            db.RoomMembers.Count(m => m.RoomId == r.RoomId && m.Membership == Memberships.Join),
            db.RoomMembers.Count(m => m.RoomId == r.RoomId && m.Membership == Memberships.Invite),
            r.BotMembership, r.UpdatedAt, r.StateSource, r.Suspect, r.LastSyncedAt, r.Creators ?? Array.Empty<string>()));

    private static IQueryable<JobResponse> ProjectJobs(IQueryable<Job> jobs) =>
        jobs.Select(j => new JobResponse(
            j.Id, j.Kind, j.RoomId, j.Reason, j.Attempts, j.RunAfter, j.LockedUntil, j.Rerun, j.Outcome, j.Detail,
            j.LastError, j.CreatedAt, j.CompletedAt));

    private static ProblemHttpResult NotFound(string what, string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: $"No such {what}", detail: $"No {what} '{id}' is known.");

    private static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });

    private static string EncodeToken(string id) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(id)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string? DecodeToken(string token, string prefix)
    {
        string base64 = token.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        try
        {
            string value = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
            // A token we did not make may decode to text PostgreSQL cannot hold (U+0000): not a token of ours.
            return value.StartsWith(prefix, StringComparison.Ordinal) && !value.Contains('\0', StringComparison.Ordinal) ? value : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
