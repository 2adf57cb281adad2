using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AppService.Maintenance;

/// <summary>The answer of <c>POST /admin/v1/maintenance/prune</c>.</summary>
public sealed record PruneResponse(
    [property: JsonPropertyName("processed_events_deleted")] long ProcessedEventsDeleted,
    [property: JsonPropertyName("transactions_deleted")] long TransactionsDeleted,
    [property: JsonPropertyName("cutoff")] DateTimeOffset Cutoff)
{
    [JsonPropertyName("rejected_events_deleted")]
    public long RejectedEventsDeleted { get; init; }

    [JsonPropertyName("jobs_deleted")]
    public long JobsDeleted { get; init; }

    [JsonPropertyName("changes_deleted")]
    public long ChangesDeleted { get; init; }
}

/// <summary>Maintenance routes of the admin API, on its <c>/admin/v1</c> group (admin token, ProblemDetails).</summary>
public static class MaintenanceApi
{
    public static RouteGroupBuilder MapMaintenanceApi(this RouteGroupBuilder admin)
    {
        admin.MapPost("/maintenance/prune", PruneAsync)
            .WithSummary("Run retention now: delete processed-event and ledger rows older than AppService:Retention:ProcessedEvents, rejected events older than AppService:Retention:RejectedEvents and finished jobs older than AppService:Jobs:Retention and change-log rows older than AppService:Retention:Changes, and return the counts.");
        return admin;
    }

    /// <summary>A database failure escapes to <see cref="Hosting.ApiExceptionHandler"/>: 503 with Retry-After.</summary>
    internal static async Task<Ok<PruneResponse>> PruneAsync(Pruner pruner, CancellationToken ct)
    {
        var result = await pruner.PruneAsync("admin", ct);
        return TypedResults.Ok(new PruneResponse(result.ProcessedEventsDeleted, result.TransactionsDeleted, result.Cutoff)
        {
            RejectedEventsDeleted = result.RejectedEventsDeleted,
            JobsDeleted = result.JobsDeleted,
            ChangesDeleted = result.ChangesDeleted,
        });
    }
}
