using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AppService.Tests.Deploy;

namespace AppService.Tests.Scripts;

/// <summary>
/// A throw-away copy of the checkout's scripts (the real files, copied as they are) with fake <c>dotnet</c> and
/// PostgreSQL binaries first on PATH, so run.sh, stop.sh and test.sh run for real in seconds without building the
/// service, starting PostgreSQL or touching the checkout's own .data/. The fake service is a <c>sleep</c>, or, with
/// FAKE_SERVICE_SERVE, a static HTTP server answering <c>/health/live</c>, or, with FAKE_SERVICE_FAIL, an exit 1.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ScratchCheckout : IDisposable
{
    private const string FakeDotnet = """
        #!/usr/bin/env bash
        case "$1" in
          build|publish) exit 0 ;;
          test) echo "Passed!  - Failed:     0, Passed:     3, Skipped:     0, Total:     3"; exit 0 ;;
        esac
        # dotnet <dll> --urls <url>: the service
        if [ -n "${FAKE_SERVICE_FAIL:-}" ]; then echo "fake service: a configuration error"; exit 1; fi
        if [ -n "${FAKE_SERVICE_SERVE:-}" ]; then
          url="$3"; port="${url##*:}"
          mkdir -p "$FAKE_SERVICE_SERVE/health" && echo Healthy > "$FAKE_SERVICE_SERVE/health/live"
          exec python3 -m http.server "$port" --bind 127.0.0.1 --directory "$FAKE_SERVICE_SERVE"
        fi
        exec sleep 600
        """;

    private readonly List<Process> _started = [];

    public ScratchCheckout()
    {
        Root = Directory.CreateTempSubdirectory("appservice-scripts-").FullName;
        // The postgres user (test.sh as root runs pg_ctl as postgres) must reach the fake binaries and .data/.
        File.SetUnixFileMode(Root, (UnixFileMode)0b111_101_101);
        foreach (string script in new[] { "run.sh", "stop.sh", "test.sh", "lib/postgres.sh" })
        {
            string target = Path.Combine(Root, "scripts", script);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(RepoRoot.File("scripts", script), target);
        }

        File.Copy(RepoRoot.File("registration.yaml"), Path.Combine(Root, "registration.yaml"));
        // Where run.sh's publish (ReadyToRun, the same as the Dockerfile's) puts the service.
        string dll = Path.Combine(Root, "src", "AppService", "bin", "Release", "publish", "AppService.dll");
        Directory.CreateDirectory(Path.GetDirectoryName(dll)!);
        File.WriteAllText(dll, "");
        Bin = Path.Combine(Root, "fake-bin");
        Directory.CreateDirectory(Bin);
        WriteExecutable("dotnet", FakeDotnet);
        Port = FreePort();
    }

    public string Root { get; }

    public string Bin { get; }

    /// <summary>A port nothing listened on a moment ago, for the fake service.</summary>
    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public string Data(string name) => Path.Combine(Root, ".data", name);

    public void WriteExecutable(string name, string text)
    {
        string path = Path.Combine(Bin, name);
        File.WriteAllText(path, text.ReplaceLineEndings("\n") + "\n");
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts a script with its output going to a file (background children keep no pipe of ours open).</summary>
    public ScriptRun Start(string script, IReadOnlyDictionary<string, string>? environment = null)
    {
        string output = Path.Combine(Root, $"output-{Guid.NewGuid():N}.txt");
        var info = new ProcessStartInfo("bash", ["-c", $"exec ./scripts/{script} >'{output}' 2>&1 </dev/null"])
        {
            WorkingDirectory = Root,
            UseShellExecute = false,
        };
        foreach (string inherited in new[] { "APPSERVICE_TEST_POSTGRES", "APPSERVICE_PG_PORT", "APPSERVICE_URLS", "ConnectionStrings__AppService", "AppService__AdminToken", "ASPNETCORE_ENVIRONMENT" })
        {
            info.Environment.Remove(inherited);
        }

        info.Environment["PATH"] = $"{Bin}:{Environment.GetEnvironmentVariable("PATH")}";
        info.Environment["APPSERVICE_URLS"] = Url;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info)!;
        _started.Add(process);
        return new ScriptRun(process, output);
    }

    /// <summary>Runs a script to its end (a generous deadline that fails with what it printed).</summary>
    public ScriptRun Run(string script, IReadOnlyDictionary<string, string>? environment = null)
    {
        var run = Start(script, environment);
        if (!run.Process.WaitForExit(TimeSpan.FromSeconds(300)))
        {
            Assert.Fail($"scripts/{script} did not finish within 300 s; it printed:\n{run.Output}");
        }

        return run;
    }

    /// <summary>Waits for a condition, failing with a message and what the script printed if it never holds.</summary>
    public static void WaitFor(Func<bool> condition, string what, ScriptRun run)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(300))
            {
                Assert.Fail($"{what} did not happen within 300 s; the script printed:\n{run.Output}");
            }

            Thread.Sleep(100);
        }
    }

    public void Dispose()
    {
        // The copy's own stop.sh first (it finds the fake service by its lock), then anything of ours left over.
        try
        {
            using var stop = Start("stop.sh", new Dictionary<string, string> { ["ConnectionStrings__AppService"] = "Host=unused" }).Process;
            stop.WaitForExit(TimeSpan.FromSeconds(30));
        }
        catch (InvalidOperationException)
        {
        }

        foreach (var process in _started)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
        }

        Directory.Delete(Root, recursive: true);
    }
}

public sealed record ScriptRun(Process Process, string OutputFile)
{
    public string Output => File.Exists(OutputFile) ? File.ReadAllText(OutputFile) : "";

    public string[] Lines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public int ExitCode => Process.ExitCode;
}
