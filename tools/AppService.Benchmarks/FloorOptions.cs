using System.Globalization;

namespace AppService.Benchmarks;

internal sealed record FloorOptions
{
    public required string ConnectionString { get; init; }
    public int Events { get; init; } = 20_000;
    public int Rooms { get; init; } = 50;
    public int Users { get; init; } = 400;
    public long Seed { get; init; } = 1;
    public int Warmup { get; init; } = 20;
    public int WarmupPause { get; init; }
    public string Bot { get; init; } = "@bot:localhost";
    public string? Json { get; init; }

    public static FloorOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected --name value pairs, got '{args[i]}'");
            }

            values[args[i][2..]] = args[++i];
        }

        int Int(string key, int fallback) => values.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        return new FloorOptions
        {
            ConnectionString = values.TryGetValue("connection", out var cs) ? cs : throw new ArgumentException("--connection is required"),
            Events = Int("events", 20_000),
            Rooms = Int("rooms", 50),
            Users = Int("users", 400),
            Warmup = Int("warmup", 20),
            WarmupPause = Int("warmup-pause", 0),
            Seed = values.TryGetValue("seed", out var s) ? long.Parse(s, CultureInfo.InvariantCulture) : 1,
            Bot = values.GetValueOrDefault("bot", "@bot:localhost"),
            Json = values.GetValueOrDefault("json"),
        };
    }
}
