using AppService.Hosting;

namespace AppService.Maintenance;

/// <summary>Retention of every table that ages out: its options, the <see cref="Pruner"/> and its schedule.</summary>
public static class RetentionSetup
{
    public static IServiceCollection AddRetention(this IServiceCollection services)
    {
        services.AddOptions<RetentionOptions>()
            .BindConfiguration(RetentionOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddScoped<Pruner>();
        services.AddHostedService<RetentionService>();
        return services;
    }
}
