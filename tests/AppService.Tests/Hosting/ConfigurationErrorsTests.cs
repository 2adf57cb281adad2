using System.Diagnostics;
using AppService.Hosting;
using AppService.Tests.Deploy;

namespace AppService.Tests.Hosting;

/// <summary>
/// The service started as a newcomer first starts it outside Development, with nothing configured: every problem is
/// listed at once, one line each naming the key and what to do, instead of one per restart.
/// </summary>
public sealed class ConfigurationErrorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("appservice-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (int ExitCode, string Output) StartService(Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("dotnet", [typeof(AppServiceOptions).Assembly.Location, "--urls", "http://127.0.0.1:0"])
        {
            WorkingDirectory = _dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string key in info.Environment.Keys.Where(k => k.StartsWith("AppService__", StringComparison.Ordinal) || k.StartsWith("ConnectionStrings__", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.StartsWith("DOTNET_ENVIRONMENT", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the service did not exit on a bad configuration within 5 minutes:\n{stdout.Result}{stderr.Result}");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    public void Every_configuration_problem_is_listed_at_once_one_line_each_naming_the_key()
    {
        File.Copy(RepoRoot.File("registration.yaml"), Path.Combine(_dir, "registration.yaml"));

        var (exitCode, output) = StartService(new()
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["AppService__Jobs__Concurrency"] = "0",
        });

        Assert.Equal(2, exitCode);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains(lines, l => l.Contains("AppService:ServerName", StringComparison.Ordinal) && l.Contains("AppService__ServerName", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("AppService:AdminToken", StringComparison.Ordinal) && l.Contains("AppService__AdminToken", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("AppService:Jobs:Concurrency", StringComparison.Ordinal) && l.Contains("between 1 and 64", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("ConnectionStrings:AppService", StringComparison.Ordinal) && l.Contains("ConnectionStrings__AppService", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("'as_token' and 'hs_token' are placeholders", StringComparison.Ordinal) && l.Contains("generate-registration", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("5 configuration problems", StringComparison.Ordinal));
        Assert.DoesNotContain("DataAnnotation", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.Equal(6, lines.Length);
    }
}
