using AppService.Data;
using AppService.Observability;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace AppService.Hosting;

/// <summary>
/// The one answer for an exception that escapes a route outside <c>/_matrix</c> (the admin API, maintenance):
/// the database unavailable is <c>503</c> ProblemDetails with <c>Retry-After</c>, anything else <c>500</c>
/// ProblemDetails that say nothing about the exception (no type, message or stack trace, in every environment;
/// the exception is in the log). The homeserver's routes answer Matrix errors of their own.
/// </summary>
internal sealed class ApiExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    /// <summary>Seconds a client is asked to wait when the database is unavailable.</summary>
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (AppServiceSetup.IsHomeserverPath(httpContext.Request.Path))
        {
            return false;
        }

        bool databaseDown = DatabaseFailures.IsDatabaseError(exception);
        var problem = databaseDown
            ? new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Database unavailable",
                Detail = $"The database did not answer; nothing was changed. Retry in {RetryAfterSeconds} seconds.",
            }
            : new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = "Internal error",
                Detail = "The request failed; the service log has the details.",
            };

        httpContext.Response.StatusCode = problem.Status!.Value;
        if (databaseDown)
        {
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem });
    }
}
