using System.Globalization;
using System.Text.Json;

namespace AppService.Benchmarks.Live;

/// <summary>
/// One process under load in a phase, from <c>--target "name=service;url=http://127.0.0.1:9200;token=T;pid=123;
/// metrics=http://127.0.0.1:9200/metrics;body=F;script=F;threads=1;connections=1;prune=http://...;admin_token=T;db=NAME"</c>.
/// db names the service's database on the phase's <c>--pg</c> server: its hot tables' sequential scans are counted.
/// body, script, threads and connections default to the phase's. Two targets may be one process (same pid) with
/// different workloads (the mismatch phase).
/// </summary>
internal sealed record Target(
    string Name, string Url, string Token, int Pid, string? MetricsUrl, string Body, string Script, int Threads, int Connections,
    string? PruneUrl, string? AdminToken, string? Database)
{
    public int EventsPerRequest { get; } = CountEvents(Body);

    public static Target Parse(string spec, RoundsOptions phase)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string part in spec.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"target '{spec}': expected key=value parts separated by ';'");
            }

            values[part[..eq].Trim()] = part[(eq + 1)..].Trim();
        }

        string Required(string key) => values.TryGetValue(key, out string? v) && v.Length > 0 ? v : throw new ArgumentException($"target '{spec}': {key}= is required");
        string? Optional(string key) => values.TryGetValue(key, out string? v) && v.Length > 0 ? v : null;
        int Int(string key, int fallback) => values.TryGetValue(key, out string? v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

        return new Target(
            Required("name"), Required("url"), Required("token"), int.Parse(Required("pid"), CultureInfo.InvariantCulture),
            Optional("metrics"), Optional("body") ?? phase.Body ?? throw new ArgumentException("--body or body= is required"),
            Optional("script") ?? phase.Script ?? throw new ArgumentException("--script or script= is required"),
            Int("threads", phase.Threads), Int("connections", phase.Connections), Optional("prune"), Optional("admin_token"),
            Optional("db"));
    }

    private static int CountEvents(string body)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(body));
        return json.RootElement.TryGetProperty("events", out var events) ? events.GetArrayLength() : 0;
    }
}
