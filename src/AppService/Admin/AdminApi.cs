using AppService.Matrix;

namespace AppService.Admin;

/// <summary>
/// Read access to the projections for operators: <c>/admin/v1</c>, behind the admin bearer token. The group's policy
/// is here; its routes are in <see cref="RoomsApi"/>, <see cref="JobsApi"/>, <see cref="RejectedEventsApi"/>,
/// <see cref="StatsApi"/> (and Maintenance's MaintenanceApi).
/// </summary>
public static class AdminApi
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

        // In this order, the OpenAPI document's.
        group.MapRoomsApi();
        group.MapJobsApi();
        group.MapRejectedEventsApi();
        group.MapStatsApi();
        return group;
    }
}
