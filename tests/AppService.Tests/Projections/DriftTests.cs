using AppService.Matrix;
using AppService.Projections;
using static AppService.Tests.Projections.Events;

namespace AppService.Tests.Projections;

public sealed class DriftTests
{
    private const long FetchStarted = 1000;

    [Fact]
    public void Equal_joined_members_and_profiles_are_no_drift()
    {
        var report = Drift.Compare(
            [Seen(Alice, Memberships.Join, "Alice"), Seen(Bob, Memberships.Leave), Seen(Bot, Memberships.Join)],
            new Dictionary<string, JoinedMember> { [Alice] = new("Alice", null), [Bot] = new(null, null) },
            FetchStarted);

        Assert.False(report.Found);
    }

    [Fact]
    public void Missing_extra_and_changed_profiles_are_drift()
    {
        var report = Drift.Compare(
            [Seen(Alice, Memberships.Join, "Alice"), Seen(Bob, Memberships.Leave), Seen(Carol, Memberships.Join)],
            new Dictionary<string, JoinedMember> { [Alice] = new("Alice (redacted elsewhere)", null), [Bob] = new(null, null), ["@dave:hs.test"] = new(null, null) },
            FetchStarted);

        Assert.True(report.Found);
        Assert.Equal([Bob, "@dave:hs.test"], report.Missing);
        Assert.Equal([Carol], report.Extra);
        Assert.Equal([Alice], report.ProfileDiffers);
        Assert.Equal("2 missing (@bob:hs.test, @dave:hs.test), 1 extra (@carol:hs.test), 1 with another profile (@alice:hs.test)", report.Describe());
    }

    [Fact]
    public void Rows_set_after_the_fetch_started_are_not_drift()
    {
        var report = Drift.Compare(
            [Seen(Alice, Memberships.Leave, setAt: FetchStarted + 1), Seen(Carol, Memberships.Join, setAt: FetchStarted + 2)],
            new Dictionary<string, JoinedMember> { [Alice] = new(null, null) },
            FetchStarted);

        Assert.False(report.Found);
    }

    private static SeenMember Seen(string userId, string membership, string? displayname = null, long? setAt = null) =>
        new(Row(userId, membership, "$" + userId, displayname), setAt ?? FetchStarted - 60);
}
