using FsCheck;
using FsCheck.Xunit;

namespace AppService.IntegrationTests.Fuzz;

/// <summary>FsCheck's source of fuzz cases for <see cref="PropertyAttribute"/> tests.</summary>
public static class FuzzArbitraries
{
    public static Arbitrary<FuzzCase> Cases() => FuzzSettings.Cases();
}

/// <summary>
/// Properties of the generators themselves (no service): a fuzz gate whose bodies were all refused as "not JSON"
/// would pass without testing anything, so each family must produce what it claims.
/// </summary>
public sealed class HostileBodiesProperties
{
    private static readonly HostileBodies Bodies = new(FuzzApplication.MaxTransactionBytes);

    [Property(Arbitrary = [typeof(FuzzArbitraries)], MaxTest = 400)]
    public bool Every_family_builds_the_kind_of_body_it_claims(FuzzCase c)
    {
        var body = Bodies.Build(c);
        var expected = BodyContract.Expected(body.Bytes, FuzzApplication.MaxTransactionBytes);
        return c.Kind switch
        {
            "invalid-utf8" or "raw-surrogate" => expected == ExpectedAnswer.BadRequest,
            "random-json" => true,
            "limit" => expected is ExpectedAnswer.Ok or ExpectedAnswer.TooLarge,
            "duplicate" => expected is ExpectedAnswer.Ok or ExpectedAnswer.OkOrBadRequest,
            _ => expected == ExpectedAnswer.Ok,
        };
    }

    [Property(Arbitrary = [typeof(FuzzArbitraries)], MaxTest = 400)]
    public bool A_mutation_leaves_the_other_events_of_the_transaction_to_be_applied(FuzzCase c)
    {
        var body = Bodies.Build(c);
        // One event at most is mutated (or dropped), so at least nine of the ten are expected applied, unless the
        // body itself is refused (then none is checked as applied) or is not built from the 10-event template.
        return c.Kind is "random-json" or "invalid-utf8" or "raw-surrogate" or "limit"
            || body.Events.Count(e => e.Outcome == Outcome.Applied) >= 9
            || (c.Kind == "duplicate" && body.Events.Count == 0);
    }

    [Fact]
    public void The_fixed_corpus_covers_every_field_with_every_core_wrong_value_and_every_poison_escape()
    {
        var corpus = Bodies.FixedCorpus().Select(make => make().Kind).ToList();
        int slots = HostileBodies.Slots(HostileBodies.Template()).Count;

        Assert.Equal(slots * HostileBodies.CoreWrongValues.Length, corpus.Count(k => k.StartsWith("wrong-type", StringComparison.Ordinal)));
        Assert.Equal(slots * 3 * 2, corpus.Count(k => k.StartsWith("poison", StringComparison.Ordinal)));
        Assert.Contains("10,000 events", corpus);
        Assert.Contains("limit", corpus);
        Assert.Contains("limit+1", corpus);
        Assert.All(HostileBodies.Depths, d => Assert.Contains($"deep {d} in content", corpus));
    }
}
