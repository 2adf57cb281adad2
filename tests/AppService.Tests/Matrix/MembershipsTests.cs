using AppService.Matrix;

namespace AppService.Tests.Matrix;

public sealed class MembershipsTests
{
    [Theory]
    [InlineData("invite")]
    [InlineData("join")]
    [InlineData("leave")]
    [InlineData("ban")]
    [InlineData("knock")]
    public void A_known_membership_is_normalized_to_its_constant_instance(string sent)
    {
        string copy = new(sent.AsSpan()); // not the interned literal

        string? normalized = Memberships.Normalize(copy);

        Assert.Same(Memberships.All.Single(m => m == sent), normalized);
        Assert.Same(string.IsInterned(sent), normalized);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Join")]
    [InlineData("dancing")]
    public void Anything_else_is_not_a_membership(string? sent) => Assert.Null(Memberships.Normalize(sent));
}
