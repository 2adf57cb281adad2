using AppService.Hosting;
using Microsoft.Extensions.Options;

namespace AppService.Maintenance;

/// <summary>Runs the <see cref="Pruner"/> (every table that ages out, finished jobs included) every <see cref="RetentionOptions.Interval"/>, the first time a minute after start.</summary>
internal sealed class RetentionService(
    IServiceScopeFactory scopes,
    IOptions<RetentionOptions> options,
    IOptions<JobOptions> jobOptions,
    TimeProvider time,
    ILogger<RetentionService> logger) : BackgroundService
{
    internal static readonly TimeSpan FirstRunDelay = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            Log.RetentionDisabled(logger);
            return;
        }

        Log.RetentionScheduled(logger, settings.ProcessedEvents, settings.RejectedEvents, jobOptions.Value.Retention, settings.Interval);
        try
        {
            await Task.Delay(FirstRunDelay < settings.Interval ? FirstRunDelay : settings.Interval, time, stoppingToken);
            using var timer = new PeriodicTimer(settings.Interval, time);
            do
            {
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    await scope.ServiceProvider.GetRequiredService<Pruner>().PruneAsync("schedule", stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Already logged and counted by the pruner; the next run tries again.
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
