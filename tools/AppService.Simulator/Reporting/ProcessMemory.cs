using System.Globalization;

namespace AppService.Simulator.Reporting;

/// <summary>
/// Peak memory of the service under test, from /proc/&lt;pid&gt;/status: VmHWM (the kernel's resident high-water
/// mark) read at the end, and VmRSS sampled every 250 ms as a fallback. With a pid file the pid is re-read on
/// every sample, so a service restarted mid-run (fault scenarios) keeps being measured; the peak is over all
/// processes seen.
/// </summary>
internal sealed class ProcessMemory : IAsyncDisposable
{
    private readonly int? _pid;
    private readonly string? _pidFile;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampler;
    private long _peakRss;
    private long _peakHwm;
    private readonly Dictionary<int, string> _pidsSeen = [];

    public ProcessMemory(int? pid, string? pidFile)
    {
        _pid = pid;
        _pidFile = pidFile;
        _sampler = (pid is null && pidFile is null) ? Task.CompletedTask : Task.Run(SampleLoopAsync);
    }

    public bool Enabled => _pid is not null || _pidFile is not null;

    /// <summary>Bytes; null when no pid was given or /proc could not be read.</summary>
    public long? PeakBytes
    {
        get
        {
            Sample();
            var peak = Math.Max(Interlocked.Read(ref _peakRss), Interlocked.Read(ref _peakHwm));
            return peak > 0 ? peak : null;
        }
    }

    /// <summary>Every process measured, as "pid (name)": a wrapper's pid (a shell, dotnet run) shows up here.</summary>
    public IReadOnlyCollection<string> PidsSeen
    {
        get
        {
            lock (_pidsSeen)
            {
                return _pidsSeen.Select(kv => $"{kv.Key} ({kv.Value})").ToArray();
            }
        }
    }

    /// <summary>(VmRSS, VmHWM) in bytes and the process name, or null when the process is gone.</summary>
    public static (long Rss, long Hwm, string Name)? Read(int pid)
    {
        try
        {
            long rss = 0, hwm = 0;
            var name = "?";
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("Name:", StringComparison.Ordinal))
                {
                    name = line[5..].Trim();
                }
                else if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = ParseKb(line);
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    hwm = ParseKb(line);
                }
            }
            return (rss, hwm, name);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>User + system CPU time of a process from /proc/&lt;pid&gt;/stat, or null when it is gone.</summary>
    public static TimeSpan? ReadCpu(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name (which may contain spaces) start at state; utime and stime are 14 and 15.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ is 100 on Linux
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>The pid being measured now (the pid file's content when there is one).</summary>
    public int? Pid => CurrentPid();

    private static long ParseKb(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb) ? kb * 1024 : 0;
    }

    private int? CurrentPid()
    {
        if (_pidFile is null)
        {
            return _pid;
        }
        try
        {
            return int.TryParse(File.ReadAllText(_pidFile).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) ? p : _pid;
        }
        catch (IOException)
        {
            return _pid;
        }
    }

    private void Sample()
    {
        if (CurrentPid() is not { } pid || Read(pid) is not { } m)
        {
            return;
        }
        lock (_pidsSeen)
        {
            _pidsSeen[pid] = m.Name;
        }
        InterlockedMax(ref _peakRss, m.Rss);
        InterlockedMax(ref _peakHwm, m.Hwm);
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long current;
        while (value > (current = Interlocked.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private async Task SampleLoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            do
            {
                Sample();
            }
            while (await timer.WaitForNextTickAsync(_stop.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampler;
        _stop.Dispose();
    }
}
