namespace AppService.Tests.Scripts;

/// <summary>scripts/test.sh says which PostgreSQL the tests use, and why, instead of ignoring APPSERVICE_PG_PORT silently.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class TestScriptTests : IDisposable
{
    private readonly ScratchCheckout _checkout = new();

    public TestScriptTests()
    {
        // A private cluster already running on port 55999 (as a previous run.sh/test.sh leaves it), faked: pg_ctl says
        // it runs, postmaster.pid names its port.
        string data = _checkout.Data("pg");
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "PG_VERSION"), "17\n");
        File.WriteAllText(Path.Combine(data, "postmaster.pid"), "12345\n" + data + "\n1700000000\n55999\n");
        foreach (string binary in new[] { "initdb", "pg_isready" })
        {
            _checkout.WriteExecutable(binary, "#!/bin/sh\nexit 0");
        }

        _checkout.WriteExecutable("pg_ctl", "#!/bin/sh\n[ \"$3\" = status ] && exit 0\necho \"fake pg_ctl: unexpected $*\" >&2\nexit 1");
    }

    public void Dispose() => _checkout.Dispose();

    [Fact]
    public void Test_sh_names_the_running_cluster_it_uses_and_why_APPSERVICE_PG_PORT_is_ignored()
    {
        var run = _checkout.Run("test.sh", new Dictionary<string, string> { ["APPSERVICE_PG_PORT"] = "55461" });

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("Tests use PostgreSQL at 127.0.0.1:55999: the private cluster in ", run.Output, StringComparison.Ordinal);
        Assert.Contains("APPSERVICE_PG_PORT=55461 is ignored: a running cluster keeps its port until scripts/stop.sh stops it", run.Output, StringComparison.Ordinal);
        Assert.Contains("3 passed, 0 failed", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Test_sh_names_the_server_of_APPSERVICE_TEST_POSTGRES_without_its_password()
    {
        var run = _checkout.Run("test.sh", new Dictionary<string, string>
        {
            ["APPSERVICE_PG_PORT"] = "55461",
            ["APPSERVICE_TEST_POSTGRES"] = "Host=db.example;Port=6543;Username=postgres;Password=hunter2-secret",
        });

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("Tests use PostgreSQL at db.example:6543: APPSERVICE_TEST_POSTGRES is set (APPSERVICE_PG_PORT=55461 is not used)", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", run.Output, StringComparison.Ordinal);
    }
}
