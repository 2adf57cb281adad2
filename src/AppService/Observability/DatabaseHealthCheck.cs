using AppService.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AppService.Observability;

/// <summary>
/// Readiness: the database answers and every migration this build knows is applied. The result carries no
/// description or data: /health/ready answers only "Healthy" or "Unhealthy" and must not leak configuration.
/// </summary>
internal sealed class DatabaseHealthCheck(AppDbContext db, ILogger<DatabaseHealthCheck> logger) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // GetPendingMigrations reads __EFMigrationsHistory, which fails if the database cannot be reached.
            var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
            if (pending.Count > 0)
            {
                Log.NotReadyMigrationsPending(logger, pending.Count);
                return HealthCheckResult.Unhealthy();
            }

            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            AppServiceMetrics.CountDatabaseError(ex, "health");
            Log.NotReadyDatabaseUnreachable(logger, ex.GetBaseException().Message);
            return HealthCheckResult.Unhealthy();
        }
    }
}
