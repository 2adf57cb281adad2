namespace AppService.IntegrationTests.Infrastructure;

/// <summary>
/// The test classes that measure the service's Prometheus counters. Those are static (prometheus-net: one set per
/// process, whatever the number of hosts), so a class running beside them would move them too. xunit runs this
/// collection after every parallel one, one class at a time: during a test here only its own host serves, and a
/// counter is checked for exactly the growth the test caused.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideMetrics
{
    public const string Name = "Process-wide metrics";
}
