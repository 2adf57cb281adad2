using AppService.Matrix;

namespace AppService.Admin;

/// <summary>
/// Read access to the projections for operators: <c>/admin/v1</c>, behind the admin bearer token. The group's policy
/// and its route table are here; the handlers are in AdminApi.Rooms.cs (rooms, members, events), AdminApi.Jobs.cs,
/// AdminApi.RejectedEvents.cs and AdminApi.Stats.cs; Maintenance's MaintenanceApi adds the prune route.
/// </summary>
public static partial class AdminApi
{
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
            .WithSummary("A room's member rows, a page at a time. Who is in the room: membership=join. No filter: every stored row, leave and ban included. at=<RFC 3339 time>: the rows as they were then (410 before the change log's horizon).")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status410Gone);
        group.MapGet("/rooms/{roomId}/members/{userId}/history", GetMemberHistoryAsync)
            .WithSummary("One user's membership changes in a room, oldest first, from the change log (docs/change-feed.md), a page at a time (410 when retention deleted entries after 'from').")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status410Gone);
        group.MapGet("/changes", GetChangesAsync)
            .WithSummary("The change feed: every change of the projection in commit order, exactly once when you follow next_batch; waits up to 'timeout' ms for one (docs/change-feed.md).")
            .ProducesProblem(StatusCodes.Status410Gone);
        group.MapGet("/users/{userId}/rooms", GetUserRoomsAsync)
            .WithSummary("The rooms a user has a member row in, a page at a time; filter by membership (join: the rooms the user is in).");
        group.MapGet("/events/{eventId}", GetEventAsync)
            .WithSummary("Whether and when an event was processed, and in which transaction.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/rooms/{roomId}/resync", ResyncRoomAsync)
            .WithSummary("Queue a resync of the room from the homeserver's /members and /state (202 with the job id); for a room we hold as not joined, the homeserver's /joined_rooms decides first.")
            .ProducesProblem(StatusCodes.Status404NotFound);
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
}
