namespace AppService.Tests.Deploy;

public sealed class DockerfileTests
{
    [Fact]
    public void It_builds_with_the_sdk_image_and_runs_on_the_aspnet_runtime_image()
    {
        var froms = Dockerfile.Instructions.Where(i => i.Op == "FROM").Select(i => i.Args).ToList();

        Assert.Equal(2, froms.Count);
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.0 ", froms[0], StringComparison.Ordinal);
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:10.0", froms[1], StringComparison.Ordinal);
        Assert.Contains(Dockerfile.RuntimeStage, i => i.Op == "COPY" && i.Args.StartsWith("--from=build ", StringComparison.Ordinal));
    }

    [Fact]
    public void The_runtime_image_runs_as_a_non_root_user()
    {
        var user = Assert.Single(Dockerfile.RuntimeStage, i => i.Op == "USER").Args;

        Assert.False(user is "root" or "0" or "0:0", $"USER {user} is root");
        int userAt = Dockerfile.RuntimeStage.ToList().FindIndex(i => i.Op == "USER");
        int entryAt = Dockerfile.RuntimeStage.ToList().FindIndex(i => i.Op == "ENTRYPOINT");
        Assert.True(userAt < entryAt, "USER must come before ENTRYPOINT");
    }

    [Fact]
    public void The_healthcheck_probes_liveness_on_the_port_the_service_listens_on()
    {
        string port = Dockerfile.Env("ASPNETCORE_HTTP_PORTS");
        string healthcheck = Assert.Single(Dockerfile.RuntimeStage, i => i.Op == "HEALTHCHECK").Args;

        Assert.Contains($"http://127.0.0.1:{port}/health/live", healthcheck, StringComparison.Ordinal);
        // The aspnet images have no curl; the -alpine one has BusyBox wget.
        Assert.Contains("wget", healthcheck, StringComparison.Ordinal);
        Assert.Contains("-alpine", Dockerfile.RuntimeStage[0].Args, StringComparison.Ordinal);
        Assert.Equal(port, Assert.Single(Dockerfile.RuntimeStage, i => i.Op == "EXPOSE").Args);
    }

    [Fact]
    public void The_entrypoint_runs_the_published_dll()
    {
        Assert.Equal("[\"dotnet\", \"AppService.dll\"]", Assert.Single(Dockerfile.RuntimeStage, i => i.Op == "ENTRYPOINT").Args);
    }

    [Fact]
    public void The_build_stage_copies_every_file_that_decides_the_build()
    {
        var copies = Dockerfile.Instructions.TakeWhile(i => i != Dockerfile.RuntimeStage[0])
            .Where(i => i.Op == "COPY").SelectMany(i => i.Args.Split(' ')[..^1]).ToList();

        // Every file at the root that MSBuild, NuGet or the analyzers read, whatever gets added later.
        var buildInputs = Directory.GetFiles(RepoRoot.File())
            .Select(f => Path.GetFileName(f))
            .Where(f => f!.StartsWith("Directory.", StringComparison.Ordinal)
                || f is "global.json" or ".editorconfig" or ".globalconfig"
                || f.Equals("nuget.config", StringComparison.OrdinalIgnoreCase))
            .ToList();
        Assert.Contains("Directory.Build.props", buildInputs);

        foreach (string file in buildInputs.Concat(["src/AppService/AppService.csproj", "src/AppService/"]))
        {
            Assert.Contains(file, copies);
            Assert.True(File.Exists(RepoRoot.File(file)) || Directory.Exists(RepoRoot.File(file)), file);
        }
    }

    [Fact]
    public void The_dockerignore_keeps_build_output_secrets_and_local_data_out_of_the_context()
    {
        var lines = RepoRoot.ReadAllText(".dockerignore").ReplaceLineEndings("\n").Split('\n').Select(l => l.Trim()).ToList();

        foreach (string pattern in new[] { "**/bin/", "**/obj/", ".git/", ".data/", "registration.yaml" })
        {
            Assert.Contains(pattern, lines);
        }
    }
}
