namespace AppService.IntegrationTests.Changes;

/// <summary>
/// The change-feed test classes. The feed hands out only changes below the oldest transaction still open anywhere on
/// the PostgreSQL cluster (docs/change-feed.md), and other test classes hold transactions open on purpose (a lock
/// held, a salvage gated): beside them a feed test would wait for their transaction instead of reading what it just
/// wrote. xunit runs this collection after every parallel one, one class at a time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ChangeFeedAlone
{
    public const string Name = "Change feed, alone on the cluster";
}
