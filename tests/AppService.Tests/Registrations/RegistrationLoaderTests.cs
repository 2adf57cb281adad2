using AppService.Registrations;
using AppService.Tests.Deploy;

namespace AppService.Tests.Registrations;

public sealed class RegistrationLoaderTests
{
    private const string AsToken = "as0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private const string HsToken = "hs0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

    private static string Yaml(
        string regex = @"^@_bot_.*:example\.org$",
        string asToken = AsToken,
        string hsToken = HsToken,
        string url = "url: http://appservice:9000") => $"""
        id: projections
        {url}
        as_token: {asToken}
        hs_token: {hsToken}
        sender_localpart: bot
        rate_limited: false
        namespaces:
          users:
            - exclusive: true
              regex: '{regex.Replace("'", "''", StringComparison.Ordinal)}'
        """;

    private static RegistrationException Refused(string yaml, bool allowPlaceholderTokens = false)
    {
        var ex = Assert.Throws<RegistrationException>(() => RegistrationLoader.Parse(yaml, "reg.yaml", allowPlaceholderTokens));
        Assert.DoesNotContain('\n', ex.Message);
        Assert.StartsWith("reg.yaml: ", ex.Message, StringComparison.Ordinal);
        return ex;
    }

    [Fact]
    public void A_valid_registration_loads()
    {
        var registration = RegistrationLoader.Parse(Yaml());

        Assert.Equal("projections", registration.Id);
        Assert.False(registration.RateLimited);
        Assert.Equal(@"^@_bot_.*:example\.org$", Assert.Single(registration.Namespaces.Users).Regex);
    }

    [Fact]
    public void Lookahead_in_a_namespace_regex_is_refused_with_the_field_named()
    {
        var ex = Refused(Yaml(regex: @"^@_bot_(?!admin).*:example\.org$"));

        Assert.Contains("'namespaces.users[0].regex'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("lookahead", ex.Message, StringComparison.Ordinal);
        Assert.Contains("RE2", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(@"^@_bot_(?=a).*:example\.org$", "lookahead")]
    [InlineData(@"^@_bot_.*(?<=a):example\.org$", "lookbehind")]
    [InlineData(@"^@_bot_.*(?<!a):example\.org$", "lookbehind")]
    [InlineData(@"^@_(bot)_\1:example\.org$", "backreference")]
    [InlineData(@"^@_(?<p>bot)_\k<p>:example\.org$", "named")]
    [InlineData(@"^@_bot_(?>a+):example\.org$", "atomic group")]
    [InlineData(@"^@_bot_(?P<n>a):example\.org$", "not a valid regular expression")]
    [InlineData(@"^@_bot_\p{L}+:example\.org$", "Unicode class")]
    [InlineData(@"^@_bot_.*:example\.org\Z", "'\\Z'")]
    [InlineData(@"^@_bot_[a-z-[aeiou]]+:example\.org$", "subtraction")]
    [InlineData(@"^@_bot_.*(?i)x:example\.org$", "inline flags")]
    [InlineData(@"^@_bot_(?(a)b|c):example\.org$", "conditional")]
    [InlineData(@"^@_bot_.*:example\.org(", "not a valid regular expression")]
    public void A_namespace_regex_that_is_not_portable_to_python_and_re2_is_refused(string regex, string expected)
    {
        var ex = Refused(Yaml(regex: regex));

        Assert.Contains("'namespaces.users[0].regex'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(@"^@_bot_[a-z0-9._=/+-]+:example\.org$")]
    [InlineData(@"^@_bot_.*:localhost$")]
    [InlineData(@"^@(?:_bot_|_relay_)[a-z]{1,32}:example\.org$")]
    [InlineData(@"(?i)^@_bot_.*:example\.org$")]
    [InlineData(@"^@_bot_(?i:[a-z])*:example\.org$")]
    [InlineData(@"^@_bot_[\]x]+:example\.org$")]
    [InlineData(@"^@_bot_[]x]+:example\.org$")]
    [InlineData(@"^@_bot_\d+\$:example\.org$")]
    public void A_portable_anchored_namespace_regex_is_accepted(string regex)
    {
        var registration = RegistrationLoader.Parse(Yaml(regex: regex));

        Assert.Equal(regex, Assert.Single(registration.Namespaces.Users).Regex);
    }

    [Theory]
    [InlineData(@"@_bot_.*:example\.org$", "must start with '^'")]
    [InlineData(@"^@_bot_.*:example\.org", "must end with '$'")]
    [InlineData(@"^@_bot_.*:example\.org\$", "must end with '$'")]
    public void An_unanchored_namespace_regex_is_refused(string regex, string expected)
    {
        var ex = Refused(Yaml(regex: regex));

        Assert.Contains("'namespaces.users[0].regex'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("as_token")]
    [InlineData("hs_token")]
    public void A_placeholder_token_is_refused_outside_development_with_the_field_named(string field)
    {
        string yaml = field == "as_token"
            ? Yaml(asToken: "CHANGE_ME_as_token_placeholder")
            : Yaml(hsToken: "CHANGE_ME_hs_token_placeholder");

        var ex = Refused(yaml);

        Assert.Contains($"'{field}' is a placeholder", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Development", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("CHANGE_ME_", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>The host allows them in Development only: PlaceholderTokenTests in the integration tests.</summary>
    [Fact]
    public void A_placeholder_token_is_accepted_when_placeholders_are_allowed()
    {
        var registration = RegistrationLoader.Parse(
            Yaml(asToken: "CHANGE_ME_as", hsToken: "CHANGE_ME_hs"), allowPlaceholderTokens: true);

        Assert.True(RegistrationLoader.IsPlaceholderToken(registration.AsToken));
    }

    [Fact]
    public void The_same_token_for_as_and_hs_is_refused()
    {
        var ex = Refused(Yaml(hsToken: AsToken));

        Assert.Contains("'as_token' and 'hs_token' must differ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(AsToken, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_url_is_refused_because_synapse_refuses_it()
    {
        var ex = Refused(Yaml(url: ""));

        Assert.Contains("'url' is missing", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("id")]
    [InlineData("as_token")]
    [InlineData("hs_token")]
    [InlineData("sender_localpart")]
    public void A_missing_required_field_is_named(string field)
    {
        string yaml = string.Join('\n', Yaml().Split('\n').Where(l => !l.StartsWith(field + ":", StringComparison.Ordinal)));

        var ex = Refused(yaml);

        Assert.Contains($"'{field}' is missing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_repository_registration_loads_only_in_development()
    {
        string path = RepoRoot.File("registration.yaml");

        Assert.Equal("projections", RegistrationLoader.LoadFile(path, allowPlaceholderTokens: true).Id);
        var ex = Assert.Throws<RegistrationException>(() => RegistrationLoader.LoadFile(path));
        Assert.Contains("placeholder", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_names_the_setting()
    {
        var ex = Assert.Throws<RegistrationException>(() => RegistrationLoader.LoadFile("/nonexistent/registration.yaml"));

        Assert.Contains("AppService:RegistrationFile", ex.Message, StringComparison.Ordinal);
    }
}
