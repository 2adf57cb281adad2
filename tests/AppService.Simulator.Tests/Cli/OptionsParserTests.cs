using AppService.Simulator.Cli;
using AppService.Simulator.Sending;

namespace AppService.Simulator.Tests.Cli;

public class OptionsParserTests
{
    [Fact]
    public void Defaults_match_the_readme()
    {
        var (o, error) = OptionsParser.Parse(["--hs-token", "h", "--admin-token", "a"]);

        Assert.Null(error);
        Assert.Equal((20_000, 50, 400, 1L, HomeserverMode.Synapse, Faults.None, 8, "@bot:localhost", 30, 600),
            (o!.Events, o.Rooms, o.Users, o.Seed, o.Mode, o.Faults, o.ConcurrentCopies, o.Bot, o.TimeoutSeconds, o.MaxSeconds));
        Assert.Equal("http://127.0.0.1:9000/", o.Url.ToString());
    }

    [Fact]
    public void Every_option_is_read_in_both_spellings()
    {
        var (o, error) = OptionsParser.Parse([
            "--url=http://127.0.0.1:9100", "--hs-token", "h", "--admin-token=a", "--events", "10", "--rooms", "2", "--users", "9",
            "--seed", "-5", "--mode", "dendrite", "--faults", "duplicates,poison", "--concurrent-copies", "3", "--json", "o.json",
            "--pid", "42", "--bot", "@b:example.org", "--timeout-seconds", "2", "--max-seconds", "9", "--duplicate-only", "--check-events", "0",
        ]);

        Assert.Null(error);
        Assert.Equal("http://127.0.0.1:9100/", o!.Url.ToString());
        Assert.Equal((10, 2, 9, -5L, HomeserverMode.Dendrite, Faults.Duplicates | Faults.Poison, 3, "o.json", 42, "@b:example.org", 2, 9, true, 0),
            (o.Events, o.Rooms, o.Users, o.Seed, o.Mode, o.Faults, o.ConcurrentCopies, o.JsonPath, o.Pid, o.Bot, o.TimeoutSeconds, o.MaxSeconds,
                o.DuplicateOnly, o.CheckEvents));
    }

    [Fact]
    public void Homeserver_mode_takes_its_port_as_token_runs_and_steps_and_needs_the_as_token()
    {
        var (o, error) = OptionsParser.Parse([
            "--hs-token", "h", "--admin-token", "a", "--homeserver-port", "9101", "--as-token", "as", "--runs", "20", "--steps=300",
        ]);

        Assert.Null(error);
        Assert.Equal((9101, "as", 20, 300, false, false), (o!.HomeserverPort, o.AsToken, o.Runs, o.Steps, o.RoomsGiven, o.UsersGiven));
        Assert.True(OptionsParser.Parse(["--hs-token", "h", "--admin-token", "a", "--homeserver-port", "9101", "--rooms", "3"]).Options is null);
        Assert.Equal("--as-token is required with --homeserver-port",
            OptionsParser.Parse(["--hs-token", "h", "--admin-token", "a", "--homeserver-port", "9101"]).Error);
    }

    [Theory]
    [InlineData("--events", "0")]
    [InlineData("--mode", "conduit")]
    [InlineData("--faults", "chaos")]
    [InlineData("--bot", "bot")]
    [InlineData("--url", "ftp://x")]
    [InlineData("--nope", "1")]
    public void Bad_values_are_errors(string name, string value)
    {
        var (o, error) = OptionsParser.Parse(["--hs-token", "h", "--admin-token", "a", name, value]);

        Assert.Null(o);
        Assert.NotNull(error);
    }

    [Fact]
    public void Tokens_are_required_unless_it_is_a_dry_run()
    {
        Assert.NotNull(OptionsParser.Parse(["--events", "5"]).Error);
        Assert.Null(OptionsParser.Parse(["--dry-run"]).Error);
    }

    [Fact]
    public void Redact_state_is_accepted_and_passed_on()
    {
        var (options, error) = OptionsParser.Parse(["--dry-run", "--redact-state"]);

        Assert.Null(error);
        Assert.True(options!.RedactState);
    }
}
