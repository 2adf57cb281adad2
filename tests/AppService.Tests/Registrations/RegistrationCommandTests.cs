using System.Text.RegularExpressions;
using AppService.Registrations;
using YamlDotNet.RepresentationModel;

namespace AppService.Tests.Registrations;

public sealed class RegistrationCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("appservice-reg-").FullName;
    private readonly StringWriter _stdout = new();
    private readonly StringWriter _stderr = new();

    public void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        _stdout.Dispose();
        _stderr.Dispose();
    }

    private string Out => Path.Combine(_dir, "registration.yaml");

    private int Generate(params string[] extra) => RegistrationCommand.Run(
        [
            "--id", "projections",
            "--url", "http://appservice:9000",
            "--sender-localpart", "bot",
            "--namespace-regex", @"^@_bot_.*:example\.org$",
            "--out", Out,
            .. extra,
        ],
        _stdout,
        _stderr);

    [Fact]
    public void Generated_registration_loads_and_has_distinct_long_tokens()
    {
        Assert.Equal(0, Generate());

        var registration = RegistrationLoader.LoadFile(Out);

        Assert.Equal("projections", registration.Id);
        Assert.Equal("http://appservice:9000", registration.Url);
        Assert.Equal("bot", registration.SenderLocalpart);
        Assert.Equal(64, registration.AsToken.Length);
        Assert.Equal(64, registration.HsToken.Length);
        Assert.NotEqual(registration.AsToken, registration.HsToken);
        Assert.Matches("^[A-Za-z0-9]{64}$", registration.AsToken);
        Assert.Matches("^[A-Za-z0-9]{64}$", registration.HsToken);
        Assert.False(RegistrationLoader.IsPlaceholderToken(registration.AsToken));
    }

    [Fact]
    public void Two_runs_produce_different_tokens()
    {
        Assert.Equal(0, Generate());
        var first = RegistrationLoader.LoadFile(Out);
        Assert.Equal(0, Generate("--force"));
        var second = RegistrationLoader.LoadFile(Out);

        Assert.NotEqual(first.AsToken, second.AsToken);
        Assert.NotEqual(first.HsToken, second.HsToken);
    }

    [Fact]
    public void Generated_regex_matches_a_bot_on_the_server_and_not_on_another_server()
    {
        Assert.Equal(0, Generate());
        var ns = Assert.Single(RegistrationLoader.LoadFile(Out).Namespaces.Users);

        Assert.True(ns.Exclusive);
        Assert.Matches(ns.Regex, "@_bot_alice:example.org");
        Assert.DoesNotMatch(ns.Regex, "@_bot_alice:evil.org");
        Assert.DoesNotMatch(ns.Regex, "@_bot_alice:exampleXorg");
        Assert.DoesNotMatch(ns.Regex, "@alice:example.org");
        Assert.DoesNotMatch(ns.Regex, "@_bot_alice:example.org.evil.org");
    }

    [Fact]
    public void Generated_file_has_url_rate_limiting_off_and_both_ephemeral_flags()
    {
        Assert.Equal(0, Generate());
        var root = LoadYaml(Out);

        Assert.Equal("http://appservice:9000", Scalar(root, "url"));
        Assert.Equal("false", Scalar(root, "rate_limited"));
        Assert.Equal("true", Scalar(root, "receive_ephemeral"));
        Assert.Equal("true", Scalar(root, "de.sorunome.msc2409.push_ephemeral"));
    }

    [Fact]
    public void Url_null_is_written_as_an_explicit_null_because_synapse_refuses_a_missing_url()
    {
        int code = RegistrationCommand.Run(
            ["--id", "p", "--url", "null", "--sender-localpart", "bot", "--namespace-regex", @"^@_bot_.*:example\.org$", "--out", Out],
            _stdout,
            _stderr);

        Assert.Equal(0, code);
        Assert.Contains("\nurl: null\n", File.ReadAllText(Out).ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Null(RegistrationLoader.LoadFile(Out).Url);
    }

    [Fact]
    public void Namespace_regex_may_repeat()
    {
        Assert.Equal(0, Generate("--namespace-regex", @"^@_relay_[a-z0-9]+:example\.org$"));

        var users = RegistrationLoader.LoadFile(Out).Namespaces.Users;
        Assert.Equal([@"^@_bot_.*:example\.org$", @"^@_relay_[a-z0-9]+:example\.org$"], users.Select(u => u.Regex));
    }

    [Fact]
    public void An_existing_file_is_not_overwritten_without_force()
    {
        File.WriteAllText(Out, "keep me");

        Assert.Equal(1, Generate());

        Assert.Equal("keep me", File.ReadAllText(Out));
        Assert.Contains("--force", _stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Force_replaces_the_file_and_leaves_it_readable_by_its_owner_only()
    {
        File.WriteAllText(Out, "old");

        Assert.Equal(0, Generate("--force"));

        Assert.StartsWith("# Application service registration", File.ReadAllText(Out), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Out));
        }
    }

    [Fact]
    public void Tokens_are_never_printed_and_the_path_and_next_step_are()
    {
        Assert.Equal(0, Generate());
        var registration = RegistrationLoader.LoadFile(Out);
        string printed = _stdout.ToString() + _stderr.ToString();

        Assert.DoesNotContain(registration.AsToken, printed, StringComparison.Ordinal);
        Assert.DoesNotContain(registration.HsToken, printed, StringComparison.Ordinal);
        Assert.Contains(Out, printed, StringComparison.Ordinal);
        Assert.Contains("app_service_config_files", printed, StringComparison.Ordinal);
        Assert.Contains("app_service_api", printed, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--id")]
    [InlineData("--url")]
    [InlineData("--sender-localpart")]
    [InlineData("--namespace-regex")]
    public void A_missing_required_argument_is_a_usage_error_naming_it(string missing)
    {
        string[] all = ["--id", "p", "--url", "http://as:9000", "--sender-localpart", "bot", "--namespace-regex", @"^@_bot_.*:example\.org$"];
        int at = Array.IndexOf(all, missing);
        string[] args = [.. all[..at], .. all[(at + 2)..], "--out", Out];

        Assert.Equal(2, RegistrationCommand.Run(args, _stdout, _stderr));

        Assert.Contains($"'{missing}' is required", _stderr.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Out));
    }

    [Theory]
    [InlineData(@"^@_bot_(?=alice).*:example\.org$", "lookahead")]
    [InlineData(@"@_bot_.*:example\.org$", "must start with '^'")]
    [InlineData(@"^@_bot_.*:example\.org", "must end with '$'")]
    [InlineData(@"^@_bot_(.*:example\.org$", "not a valid regular expression")]
    public void A_bad_namespace_regex_is_refused_before_anything_is_written(string regex, string expected)
    {
        int code = RegistrationCommand.Run(
            ["--id", "p", "--url", "http://as:9000", "--sender-localpart", "bot", "--namespace-regex", regex, "--out", Out],
            _stdout,
            _stderr);

        Assert.Equal(2, code);
        Assert.Contains(expected, _stderr.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Out));
    }

    [Theory]
    [InlineData("--url", "ftp://as:9000", "'--url' must be an absolute http(s) URL")]
    [InlineData("--url", "appservice:9000/no-scheme", "'--url' must be an absolute http(s) URL")]
    [InlineData("--sender-localpart", "bot:example.org", "'sender_localpart' must be a plain user localpart")]
    [InlineData("--id", "a|b", "'id' must not contain '|'")]
    public void An_invalid_value_is_refused_with_the_argument_or_field_named(string argument, string value, string expected)
    {
        var args = new Dictionary<string, string>
        {
            ["--id"] = "p",
            ["--url"] = "http://as:9000",
            ["--sender-localpart"] = "bot",
            ["--namespace-regex"] = @"^@_bot_.*:example\.org$",
            [argument] = value,
        };

        int code = RegistrationCommand.Run([.. args.SelectMany(kv => new[] { kv.Key, kv.Value }), "--out", Out], _stdout, _stderr);

        Assert.Equal(2, code);
        Assert.Contains(expected, _stderr.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Out));
    }

    [Fact]
    public void Equals_form_of_arguments_is_accepted()
    {
        int code = RegistrationCommand.Run(
            ["--id=p", "--url=http://as:9000", "--sender-localpart=bot", @"--namespace-regex=^@_bot_.*:example\.org$", $"--out={Out}"],
            _stdout,
            _stderr);

        Assert.Equal(0, code);
        Assert.Equal("p", RegistrationLoader.LoadFile(Out).Id);
    }

    [Fact]
    public void Help_prints_usage_and_writes_nothing()
    {
        Assert.Equal(0, RegistrationCommand.Run(["--help"], _stdout, _stderr));

        Assert.Contains("--namespace-regex", _stdout.ToString(), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Unknown_argument_is_a_usage_error()
    {
        Assert.Equal(2, Generate("--verbose"));
        Assert.Contains("unknown argument '--verbose'", _stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void New_tokens_use_the_whole_alphabet_and_do_not_repeat()
    {
        var tokens = Enumerable.Range(0, 200).Select(_ => RegistrationCommand.NewToken()).ToList();

        Assert.Equal(tokens.Count, tokens.Distinct(StringComparer.Ordinal).Count());
        Assert.All(tokens, t => Assert.Matches(new Regex("^[A-Za-z0-9]{64}$"), t));
        // 12,800 characters from 62 symbols: every symbol shows up (a broken generator would not).
        Assert.Equal(62, tokens.SelectMany(t => t).Distinct().Count());
    }

    [Fact]
    public void A_relative_out_is_written_under_the_current_directory_and_its_absolute_path_is_printed()
    {
        string[] args = ["--id", "p", "--url", "null", "--sender-localpart", "bot", "--namespace-regex", @"^@_bot_.*:example\.org$", "--out", "sub/reg.yaml"];
        Directory.CreateDirectory(Path.Combine(_dir, "sub"));

        Assert.Equal(0, RegistrationCommand.Run(args, _stdout, _stderr, currentDirectory: _dir));

        string expected = Path.Combine(_dir, "sub", "reg.yaml");
        Assert.True(File.Exists(expected));
        Assert.StartsWith($"Wrote {expected} ", _stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_out_it_writes_a_git_ignored_file_beside_the_shipped_example_from_the_checkouts_root()
    {
        // A newcomer types the README's command from the checkout's root, where the tracked example lives.
        string example = File.ReadAllText(Deploy.RepoRoot.File("registration.yaml"));
        File.WriteAllText(Path.Combine(_dir, "registration.yaml"), example);
        string[] args = ["--id", "p", "--url", "null", "--sender-localpart", "bot", "--namespace-regex", @"^@_bot_.*:example\.org$"];

        Assert.Equal(0, RegistrationCommand.Run(args, _stdout, _stderr, currentDirectory: _dir));

        string expected = Path.Combine(_dir, "registration.local.yaml");
        Assert.Equal("p", RegistrationLoader.LoadFile(expected).Id);
        Assert.Equal(example, File.ReadAllText(Path.Combine(_dir, "registration.yaml")));
        Assert.StartsWith($"Wrote {expected} ", _stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_example_registration_with_placeholder_tokens_is_never_overwritten_even_with_force()
    {
        string example = File.ReadAllText(Deploy.RepoRoot.File("registration.yaml"));
        File.WriteAllText(Out, example);

        Assert.Equal(1, Generate("--force"));

        Assert.Equal(example, File.ReadAllText(Out));
        Assert.Contains("placeholder tokens", _stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Dotnet_run_keeps_the_callers_current_directory()
    {
        // Without it 'dotnet run --project src/AppService' starts in src/AppService, and a relative --out or
        // AppService:RegistrationFile lands there instead of where the user typed the command.
        var project = System.Xml.Linq.XDocument.Load(Deploy.RepoRoot.File("src", "AppService", "AppService.csproj"));
        Assert.Equal("$(MSBuildStartupDirectory)", project.Descendants("RunWorkingDirectory").Single().Value);
    }

    [Theory]
    [InlineData("registration.local.yaml", true)]
    [InlineData("src/AppService/registration.yaml", true)]
    [InlineData("deploy/prod.registration.yaml", true)]
    [InlineData("registration.yaml", false)]
    [InlineData("deploy/registration.compose.yaml", false)]
    public void Generated_registrations_are_git_ignored_and_the_examples_are_not(string path, bool ignored)
    {
        var git = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("git", ["check-ignore", "--no-index", "-q", path])
        {
            WorkingDirectory = Deploy.RepoRoot.File(),
            RedirectStandardError = true,
        })!;
        git.WaitForExit();

        Assert.Equal(ignored ? 0 : 1, git.ExitCode);
    }

    private static YamlMappingNode LoadYaml(string path)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(path)));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static string? Scalar(YamlMappingNode map, string key) => ((YamlScalarNode)map.Children[new YamlScalarNode(key)]).Value;
}
