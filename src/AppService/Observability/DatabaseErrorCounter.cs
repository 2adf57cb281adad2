using Microsoft.AspNetCore.Diagnostics;

namespace AppService.Observability;

/// <summary>
/// Counts database failures that escape a request (the admin API, say) in appservice_database_errors_total
/// {operation="request"}. It handles nothing: the exception handler still answers with its ProblemDetails.
/// </summary>
internal sealed class DatabaseErrorCounter : IExceptionHandler
{
    public ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        AppServiceMetrics.CountDatabaseError(exception, "request");
        return ValueTask.FromResult(false);
    }
}
