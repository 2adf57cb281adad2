using System.Diagnostics;

namespace AppService.IntegrationTests.Operations;

/// <summary>The service started as it ships (<c>dotnet AppService.dll</c>) in Production without AppService:ServerName.</summary>
public sealed class ServerNameStartTests
{
    [Fact]
    public async Task Start_without_a_server_name_in_production_fails_with_one_line()
    {
        string dir = Directory.CreateTempSubdirectory("servername-").FullName;
        try
        {
            string registration = Path.Combine(dir, "registration.yaml");
            await File.WriteAllTextAsync(registration, """
                id: test
                url: http://127.0.0.1:9000
                as_token: as_0a1b2c3d4e5f60718293a4b5c6d7e8f9
                hs_token: hs_4f1b2c3d5e6f708192a3b4c5d6e7f809
                sender_localpart: bot
                namespaces:
                  users: []
                """);
            var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "AppService.dll"), "--urls", "http://127.0.0.1:0"])
            {
                WorkingDirectory = dir,
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            start.Environment["ConnectionStrings__AppService"] = "Host=127.0.0.1;Port=1;Username=nobody;Database=none";
            start.Environment["AppService__AdminToken"] = "admin-token-0123456789";
            start.Environment["AppService__RegistrationFile"] = registration;
            start.Environment.Remove("AppService__ServerName");

            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("The service started without AppService:ServerName.");
            }

            string[] lines = (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, process.ExitCode);
            string line = Assert.Single(lines);
            Assert.Contains("AppService:ServerName is required outside Development", line, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
