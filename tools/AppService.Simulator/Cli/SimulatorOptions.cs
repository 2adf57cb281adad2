using System.Globalization;
using AppService.Simulator.Sending;

namespace AppService.Simulator.Cli;

/// <summary>Command line of the simulator (README.md documents every option).</summary>
internal sealed record SimulatorOptions
{
    public Uri Url { get; init; } = new("http://127.0.0.1:9000/");

    public string HsToken { get; init; } = "";

    public string AdminToken { get; init; } = "";

    public int Events { get; init; } = 20_000;

    public int Rooms { get; init; } = 50;

    public int Users { get; init; } = 400;

    public long Seed { get; init; } = 1;

    public HomeserverMode Mode { get; init; } = HomeserverMode.Synapse;

    public Faults Faults { get; init; } = Faults.None;

    public int ConcurrentCopies { get; init; } = 8;

    public string? JsonPath { get; init; }

    /// <summary>Every answer to a transaction request, one line each, as it arrives (scripts/ha.sh reads it).</summary>
    public string? AckLogPath { get; init; }

    public int? Pid { get; init; }

    public string? PidFile { get; init; }

    public string Bot { get; init; } = "@bot:localhost";

    public string GhostPrefix { get; init; } = "@_bot_";

    public int TimeoutSeconds { get; init; } = 30;

    public int MaxSeconds { get; init; } = 600;

    public bool DuplicateOnly { get; init; }

    public int CheckEvents { get; init; } = 20_000;

    /// <summary>Transactions of a separate small workload sent before the timed phase (JIT, pools, caches).</summary>
    public int Warmup { get; init; }

    /// <summary>Seconds to wait after the warm-up, so the service's tiered JIT finishes before the clock starts.</summary>
    public int WarmupPause { get; init; }

    public bool RedactState { get; init; }

    /// <summary>Generate, plan and print the workload without sending anything.</summary>
    public bool DryRun { get; init; }

    public bool Help { get; init; }

    /// <summary>Homeserver mode: serve the service's client-server calls on 127.0.0.1 at this port.</summary>
    public int? HomeserverPort { get; init; }

    /// <summary><c>as_token</c> of the registration: what the service's calls to the homeserver must carry.</summary>
    public string AsToken { get; init; } = "";

    /// <summary>Homeserver mode: seeds run one after the other, from <see cref="Seed"/> on.</summary>
    public int Runs { get; init; } = 1;

    /// <summary>Homeserver mode: generator steps per seed.</summary>
    public int Steps { get; init; } = 400;

    public bool RoomsGiven { get; init; }

    public bool UsersGiven { get; init; }

    public const string Usage = """
        AppService.Simulator: a homeserver that pushes a seeded Matrix workload to the application service,
        injects faults, and checks the service's projection against its own model through the admin API.

        Usage: dotnet run --project tools/AppService.Simulator -c Release -- --url http://127.0.0.1:9000
                 --hs-token T --admin-token A [options]

          --url URL                 service base URL (default http://127.0.0.1:9000)
          --hs-token T              hs_token of the registration (Authorization on transactions)
          --admin-token A           admin API bearer token
          --events N                events pushed to the service (default 20000)
          --rooms N                 rooms (default 50)
          --users N                 users, about 20% of them ghosts in the namespace (default 400)
          --seed S                  the same seed gives the same workload (default 1)
          --mode synapse|dendrite   how transactions are cut, numbered and retried (default synapse)
          --faults LIST             none|duplicates|txn-restart|concurrent|poison|all, comma-separated (default none)
          --concurrent-copies N     copies of every transaction with --faults concurrent (default 8)
          --json PATH               write the report as JSON
          --ack-log PATH            write every answer to a transaction request as it arrives, one line each:
                                    unix ms, status (or timeout/connection_error), txnId, and for a 200 the
                                    transaction's event ids, comma-separated (tab-separated fields)
          --pid N                   service pid: report its peak memory (VmHWM)
          --pid-file PATH           like --pid, re-read on every sample (a restarted service keeps being measured)
          --bot USER                the bot user id (default @bot:localhost; its server is every id's server)
          --ghost-prefix P          users namespace prefix (default @_bot_)
          --timeout-seconds N       per request; a timeout is retried with the same txnId (default 30)
          --max-seconds N           bound of the sending phases; the oracle gets at most max(120 s, what is left) (default 600)
          --duplicate-only          after the run, replay every transaction's events under new txnIds; reported separately
          --check-events N          accepted events looked up one by one by the oracle (default 20000, 0 = none)
          --warmup N                first send N transactions of a separate small workload (its own rooms, txnIds
                                    warmup-1...), untimed but checked by the oracle like the rest (default 0)
          --warmup-pause S          then wait S seconds before the timed phase, so the service's background tiered
                                    JIT is done and steady state is measured (default 0)
          --redact-state            also redact random current state (name, topic, avatar, encryption, profiles) by
                                    random joined users, authorised or not; without it only the scheduled
                                    cross-server state redactions happen (every workload has those)
          --dry-run                 generate and plan, print the workload, send nothing

        Homeserver mode (the simulator is the service's homeserver: AppService:HomeserverUrl=http://127.0.0.1:N):
          --homeserver-port N       serve /join, /members, /state, /joined_members, /joined_rooms on 127.0.0.1:N
                                    from the live model, push with outages, inject soft-failures, state resets,
                                    redactions, kicks and bans of the bot; check every room at quiescence and after
                                    a final resync
          --as-token T              as_token of the registration (required with --homeserver-port)
          --runs N                  seeds --seed .. --seed+N-1, one after the other (default 1)
          --steps N                 generator steps per seed, about one event each (default 400)
          (--rooms and --users default to 6 and 30 in this mode)
          -h, --help                this text

        Exit code 0 only when every oracle check passed and every transaction was acknowledged; 1 otherwise;
        2 for a usage error. After a run (or --dry-run) the last line of output is 'N passed, N failed'
        (N = oracle checks); a usage error prints only the error, on stderr.
        """;
}

internal static class OptionsParser
{
    private static readonly HashSet<string> Flags = ["--duplicate-only", "--redact-state", "--dry-run", "--help", "-h"];

    /// <summary>Parses by hand: <c>--name value</c> or <c>--name=value</c>; flags take no value.</summary>
    public static (SimulatorOptions? Options, string? Error) Parse(IReadOnlyList<string> args)
    {
        var o = new SimulatorOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string name, value = "";
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                name = arg[..eq];
                value = arg[(eq + 1)..];
            }
            else
            {
                name = arg;
                if (!Flags.Contains(name))
                {
                    if (i + 1 >= args.Count)
                    {
                        return (null, $"{name} needs a value");
                    }
                    value = args[++i];
                }
            }
            try
            {
                o = name switch
                {
                    "--url" => o with { Url = ParseUrl(value) },
                    "--hs-token" => o with { HsToken = value },
                    "--admin-token" => o with { AdminToken = value },
                    "--events" => o with { Events = Int(value, 1, 100_000_000) },
                    "--rooms" => o with { Rooms = Int(value, 1, 1_000_000), RoomsGiven = true },
                    "--users" => o with { Users = Int(value, 4, 10_000_000), UsersGiven = true },
                    "--homeserver-port" => o with { HomeserverPort = Int(value, 0, 65535) },
                    "--as-token" => o with { AsToken = value },
                    "--runs" => o with { Runs = Int(value, 1, 10_000) },
                    "--steps" => o with { Steps = Int(value, 1, 10_000_000) },
                    "--seed" => o with { Seed = long.Parse(value, NumberStyles.Integer, CultureInfo.InvariantCulture) },
                    "--mode" => o with { Mode = value switch
                    {
                        "synapse" => HomeserverMode.Synapse,
                        "dendrite" => HomeserverMode.Dendrite,
                        _ => throw new FormatException("--mode is synapse or dendrite"),
                    } },
                    "--faults" => o with { Faults = FaultNames.TryParse(value, out var f) ? f
                        : throw new FormatException("--faults takes none, duplicates, txn-restart, concurrent, poison, all (comma-separated)") },
                    "--concurrent-copies" => o with { ConcurrentCopies = Int(value, 2, 64) },
                    "--json" => o with { JsonPath = value },
                    "--ack-log" => o with { AckLogPath = value },
                    "--pid" => o with { Pid = Int(value, 1, int.MaxValue) },
                    "--pid-file" => o with { PidFile = value },
                    "--bot" => o with { Bot = UserId(value) },
                    "--ghost-prefix" => o with { GhostPrefix = value.StartsWith('@') ? value : throw new FormatException("--ghost-prefix starts with @") },
                    "--timeout-seconds" => o with { TimeoutSeconds = Int(value, 1, 3600) },
                    "--max-seconds" => o with { MaxSeconds = Int(value, 1, 86_400) },
                    "--check-events" => o with { CheckEvents = Int(value, 0, int.MaxValue) },
                    "--warmup" => o with { Warmup = Int(value, 0, 100_000) },
                    "--warmup-pause" => o with { WarmupPause = Int(value, 0, 600) },
                    "--duplicate-only" => o with { DuplicateOnly = true },
                    "--redact-state" => o with { RedactState = true },
                    "--dry-run" => o with { DryRun = true },
                    "--help" or "-h" => o with { Help = true },
                    _ => throw new FormatException($"unknown option {name}"),
                };
            }
            catch (Exception ex) when (ex is FormatException or OverflowException)
            {
                return (null, ex.Message.StartsWith("--", StringComparison.Ordinal) || ex.Message.StartsWith("unknown", StringComparison.Ordinal)
                    ? ex.Message
                    : $"{name}: {ex.Message}");
            }
        }
        if (o.Help)
        {
            return (o, null);
        }
        if (!o.DryRun && (o.HsToken.Length == 0 || o.AdminToken.Length == 0))
        {
            return (null, "--hs-token and --admin-token are required");
        }
        if (o.HomeserverPort is not null && o.AsToken.Length == 0)
        {
            return (null, "--as-token is required with --homeserver-port");
        }
        return (o, null);
    }

    private static int Int(string value, int min, int max)
    {
        var n = int.Parse(value, NumberStyles.Integer, CultureInfo.InvariantCulture);
        return n < min || n > max ? throw new FormatException($"{n} is outside {min}..{max}") : n;
    }

    private static Uri ParseUrl(string value)
    {
        if (!Uri.TryCreate(value.EndsWith('/') ? value : value + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new FormatException($"--url '{value}' is not an http(s) URL");
        }
        return uri;
    }

    private static string UserId(string value) =>
        value.StartsWith('@') && value.IndexOf(':', StringComparison.Ordinal) > 1 && !value.EndsWith(':')
            ? value
            : throw new FormatException($"--bot '{value}' is not a user id like @bot:localhost");
}
