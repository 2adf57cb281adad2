using AppService.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace AppService.Observability;

/// <summary>
/// Readiness: the database answers, it is a primary that takes writes (not a standby: during a failover the pool may
/// still hold connections to a demoted primary, or no primary exists), and every migration this build knows is applied. The result carries no
/// description or data: /health/ready answers only "Healthy" or "Unhealthy" and must not leak configuration.
/// </summary>
internal sealed class DatabaseHealthCheck(AppDbContext db, NpgsqlDataSource dataSource, ILogger<DatabaseHealthCheck> logger) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // A standby answers reads: only a read-write session can take the homeserver's transactions.
            string readOnly = await db.Database.SqlQueryRaw<string>("SELECT current_setting('transaction_read_only') AS \"Value\"")
                .SingleAsync(cancellationToken);
            if (readOnly != "off")
            {
                // The pool's connections point at a server that is (now) read-only: the next opens look for the primary.
                dataSource.Clear();
                Log.NotReadyReadOnly(logger);
                return HealthCheckResult.Unhealthy();
            }

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
