using System.Globalization;

namespace AppService.Benchmarks.Live;

/// <summary>Options of the <c>rounds</c> command (see Program.cs for the usage line).</summary>
internal sealed record RoundsOptions
{
    public string Phase { get; init; } = "phase";
    public string Description { get; init; } = "";
    public List<string> TargetSpecs { get; } = [];
    public string? Body { get; init; }
    public string? Script { get; init; }
    public int Threads { get; init; } = 1;
    public int Connections { get; init; } = 1;

    /// <summary>Minimum warm-up per target; 0 skips the warm-up (the first-minute phase).</summary>
    public int WarmupSeconds { get; init; } = 20;

    /// <summary>Warm-up ends at this even if the JIT still compiles (reported as not settled).</summary>
    public int WarmupMaxSeconds { get; init; } = 240;
    public int WarmupChunkSeconds { get; init; } = 5;

    /// <summary>The JIT has settled when fewer methods than this are compiled per second of load.</summary>
    public double JitRate { get; init; } = 20;
    public int Rounds { get; init; } = 3;
    public int RoundSeconds { get; init; } = 10;

    /// <summary>First character of every wrk run id of this phase, so event and txn ids never repeat across phases.</summary>
    public string RunPrefix { get; init; } = "r";
    public string? Json { get; init; }

    /// <summary>A connection string (any database) of the PostgreSQL the targets' <c>db=</c> databases are on.</summary>
    public string? Pg { get; init; }

    /// <summary>A sequential scan of a hot table larger than this many pages fails the phase (<see cref="SeqScanProbe"/>).</summary>
    public int SeqScanMinPages { get; init; } = 512;

    public static RoundsOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var targets = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected --name value pairs, got '{args[i]}'");
            }

            if (args[i] == "--target")
            {
                targets.Add(args[++i]);
            }
            else
            {
                values[args[i][2..]] = args[++i];
            }
        }

        int Int(string key, int fallback) => values.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var options = new RoundsOptions
        {
            Phase = values.GetValueOrDefault("phase", "phase"),
            Description = values.GetValueOrDefault("description", ""),
            Body = values.GetValueOrDefault("body"),
            Script = values.GetValueOrDefault("script"),
            Threads = Int("threads", 1),
            Connections = Int("connections", 1),
            WarmupSeconds = Int("warmup-seconds", 20),
            WarmupMaxSeconds = Int("warmup-max-seconds", 240),
            WarmupChunkSeconds = Int("warmup-chunk-seconds", 5),
            JitRate = values.TryGetValue("jit-rate", out var r) ? double.Parse(r, CultureInfo.InvariantCulture) : 20,
            Rounds = Int("rounds", 3),
            RoundSeconds = Int("round-seconds", 10),
            RunPrefix = values.GetValueOrDefault("run-prefix", "r")[..1],
            Json = values.GetValueOrDefault("json"),
            Pg = values.GetValueOrDefault("pg"),
            SeqScanMinPages = Int("seqscan-min-pages", 512),
        };
        if (targets.Count == 0)
        {
            throw new ArgumentException("at least one --target is required");
        }

        options.TargetSpecs.AddRange(targets);
        return options;
    }
}
