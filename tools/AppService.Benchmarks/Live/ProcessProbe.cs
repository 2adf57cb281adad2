using System.Globalization;
using System.Text.Json;

namespace AppService.Benchmarks.Live;

/// <summary>
/// What /proc says about a process we started (the service or the prototype): CPU time (user + system, all threads),
/// peak resident memory, and the runtime settings it was started with (its runtimeconfig.json, overridden by its
/// DOTNET_ environment, as the runtime reads them).
/// </summary>
internal static class ProcessProbe
{
    /// <summary>USER_HZ: /proc/&lt;pid&gt;/stat counts CPU time in ticks of 1/100 s on Linux.</summary>
    private const double MsPerTick = 10;

    /// <summary>utime + stime of the whole process in milliseconds.</summary>
    public static double CpuMs(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) may contain spaces: fields are counted after its closing parenthesis.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
        long stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (utime + stime) * MsPerTick;
    }

    /// <summary>VmHWM: the peak resident set size, in MiB.</summary>
    public static double? PeakRssMib(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return null;
    }

    public static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}");

    /// <summary>"server GC, concurrent, tiered, PGO" and the like: what the process's runtime was told.</summary>
    public static string RuntimeSettings(int pid)
    {
        var environment = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string entry in File.ReadAllText($"/proc/{pid}/environ").Split('\0'))
        {
            int eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                environment[entry[..eq]] = entry[(eq + 1)..];
            }
        }

        var config = new Dictionary<string, bool>(StringComparer.Ordinal);
        var numbers = new Dictionary<string, long>(StringComparer.Ordinal);
        string? dll = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0').FirstOrDefault(a => a.EndsWith(".dll", StringComparison.Ordinal));
        if (dll is not null)
        {
            string path = Path.Combine(ResolveCwd(pid), dll);
            string runtimeConfig = Path.ChangeExtension(path, ".runtimeconfig.json");
            if (File.Exists(runtimeConfig))
            {
                using var json = JsonDocument.Parse(File.ReadAllText(runtimeConfig));
                if (json.RootElement.GetProperty("runtimeOptions").TryGetProperty("configProperties", out var props))
                {
                    foreach (var p in props.EnumerateObject())
                    {
                        if (p.Value.ValueKind is JsonValueKind.True or JsonValueKind.False)
                        {
                            config[p.Name] = p.Value.GetBoolean();
                        }
                        else if (p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt64(out long number))
                        {
                            numbers[p.Name] = number;
                        }
                    }
                }
            }
        }

        bool Setting(string env, string property, bool fallback) =>
            environment.TryGetValue("DOTNET_" + env, out string? e) || environment.TryGetValue("COMPlus_" + env, out e)
                ? e is "1" or "true"
                : config.TryGetValue(property, out bool c) ? c : fallback;

        bool server = Setting("gcServer", "System.GC.Server", false);
        bool concurrent = Setting("gcConcurrent", "System.GC.Concurrent", true);
        bool tiered = Setting("TieredCompilation", "System.Runtime.TieredCompilation", true);
        bool pgo = Setting("TieredPGO", "System.Runtime.TieredPGO", true);
        bool quickLoops = Setting("TC_QuickJitForLoops", "System.Runtime.TieredCompilation.QuickJitForLoops", true);
        string? spin = environment.TryGetValue("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit", out string? s) ? s
            : numbers.TryGetValue("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", out long n) ? n.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : null;
        return string.Join(", ",
            server ? "server GC" : "workstation GC",
            concurrent ? "concurrent" : "non-concurrent",
            tiered ? "tiered JIT" : "tiered JIT off",
            pgo ? "PGO" : "PGO off",
            quickLoops ? "quick JIT for loops" : "no quick JIT for loops",
            spin is null ? "thread-pool spin default" : $"thread-pool spin limit {spin}");
    }

    private static string ResolveCwd(int pid)
    {
        try
        {
            return new DirectoryInfo($"/proc/{pid}/cwd").ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? "";
        }
        catch (IOException)
        {
            return "";
        }
    }
}
