using AppService.Hosting;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Prometheus;

namespace AppService.Observability;

/// <summary>Metrics, health, the database error counter and the startup self-check (README "Operations").</summary>
public static class OperationsSetup
{
    private const string ReadyTag = "ready";

    public static WebApplicationBuilder AddOperations(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        AppServiceMetrics.EnsureRegistered();

        services.AddExceptionHandler<DatabaseErrorCounter>();
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: [ReadyTag], timeout: TimeSpan.FromSeconds(5));

        services.AddSingleton<PingRecorder>();
        services.AddOptions<SelfCheckOptions>();
        services.AddHttpClient(StartupSelfCheck.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30))
            .RemoveAllLoggers(); // one line about the check, not three per request
        services.AddHostedService<StartupSelfCheck>();
        return builder;
    }

    /// <summary>
    /// <c>/metrics</c>, <c>/health/live</c> and <c>/health/ready</c>: no token, and bodies that say nothing about the
    /// configuration (Prometheus text; "Healthy" or "Unhealthy"). Keep them off the public internet all the same.
    /// </summary>
    public static WebApplication UseOperations(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (path.StartsWithSegments("/metrics") || path.StartsWithSegments("/health"))
            {
                await next(context);
                return;
            }

            using (AppServiceMetrics.HttpRequestsInFlight.TrackInProgress())
            {
                await next(context);
            }
        });

        app.MapMetrics("/metrics");
        // Liveness runs no check: the process answers, so it is alive. Restarting it would not fix the database.
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        return app;
    }
}
