using System.Text.Json;
using System.Text.RegularExpressions;
using AppService.IntegrationTests.Admin;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Operations;

/// <summary>What docs/api.md and docs/operations.md promise, checked against the running service.</summary>
public sealed partial class DocsMatchTheServiceTests(SwaggerEnabledApplication app) : IClassFixture<SwaggerEnabledApplication>
{
    private static string RepoFile(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AppService.sln")))
            {
                return File.ReadAllText(Path.Combine(dir.FullName, name));
            }
        }

        throw new InvalidOperationException("AppService.sln not found");
    }

    private static string Section(string markdown, string heading)
    {
        string rest = markdown[markdown.IndexOf(heading, StringComparison.Ordinal)..];
        int end = rest.IndexOf("\n## ", heading.Length, StringComparison.Ordinal);
        return end < 0 ? rest : rest[..end];
    }

    [GeneratedRegex(@"^\| `(GET|POST|PUT|DELETE) (/admin/v1/[^`?]*)")]
    private static partial Regex AdminRow();

    [GeneratedRegex(@"^\| `(appservice_[a-z_]+)")]
    private static partial Regex MetricRow();

    [Fact]
    public async Task Every_admin_route_in_the_OpenAPI_document_is_in_the_API_page_and_no_other()
    {
        var document = JsonDocument.Parse(await app.CreateClient().GetStringAsync("/swagger/v1/swagger.json")).RootElement;
        var routes = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(method => $"{method.Name.ToUpperInvariant()} {path.Name}"))
            .Order(StringComparer.Ordinal)
            .ToList();
        var documented = Section(RepoFile("docs/api.md"), "## Admin API").Split('\n')
            .Select(l => AdminRow().Match(l))
            .Where(m => m.Success)
            .Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value}")
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.True(routes.Count >= 10, string.Join(", ", routes));
        Assert.Equal(routes, documented);
    }

    [Fact]
    public async Task Every_metric_in_the_operations_guide_is_exported_after_a_little_traffic()
    {
        await app.PushOkAsync("docs-1", Member(NewRoomId(), Alice, "join"));
        using var bad = await app.Homeserver().PutAsync("/_matrix/app/v1/transactions/docs-2", new StringContent("not json"));
        using var prune = await app.Admin().PostAsync("/admin/v1/maintenance/prune", null);
        _ = await app.StatsAsync();
        string metrics = (await Scrape.TakeAsync(app.CreateClient())).Text;

        var documented = Section(RepoFile("docs/operations.md"), "### Metrics").Split('\n')
            .Select(l => MetricRow().Match(l))
            .Where(m => m.Success)
            .Select(m => m.Groups[1].Value)
            .ToList();

        Assert.True(documented.Count >= 15, string.Join(", ", documented));
        Assert.DoesNotContain(documented, name => !metrics.Contains($"# TYPE {name} ", StringComparison.Ordinal));
    }
}
