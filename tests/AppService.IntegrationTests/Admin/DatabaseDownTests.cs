using System.Net;
using System.Text.Json;
using AppService.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AppService.IntegrationTests.Admin;

/// <summary>
/// The service in Development (where ASP.NET Core would show a developer exception page) with a database that does
/// not answer: a closed port, no migration on start. A route under /admin/v1/test-failure throws a plain bug.
/// </summary>
public sealed class DatabaseDownApplication : AppServiceApplication
{
    public const string FailingPath = "/admin/v1/test-failure";

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("AppService:MigrateOnStartup", "false"),
        new("AppService:Retention:Enabled", "false"),
        new("AppService:DriftCheck:Enabled", "false"),
    ];

    protected override Task<string> CreateDatabaseAsync(PostgresServer postgres) =>
        Task.FromResult("Host=127.0.0.1;Port=1;Username=postgres;Database=nowhere;Timeout=2");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseEnvironment("Development");
        builder.ConfigureServices(services => services.AddSingleton<IStartupFilter, FailingRoute>());
    }

    /// <summary>Appended after the app's own pipeline, so it runs inside its exception handler.</summary>
    private sealed class FailingRoute : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            next(app);
            app.Use((HttpContext context, RequestDelegate _) => context.Request.Path == FailingPath
                ? throw new InvalidOperationException("a bug with a secret message")
                : Task.CompletedTask);
        };
    }
}

public sealed class DatabaseDownTests(DatabaseDownApplication app) : IClassFixture<DatabaseDownApplication>
{
    /// <summary>Every admin route the service maps, with sample values for its parameters.</summary>
    private IEnumerable<(HttpMethod Method, string Path)> AdminRoutes()
    {
        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>();
        foreach (var endpoint in endpoints)
        {
            string? template = endpoint.RoutePattern.RawText;
            if (template is null || !template.StartsWith("/admin/v1", StringComparison.Ordinal))
            {
                continue;
            }

            string path = template
                .Replace("{roomId}", Uri.EscapeDataString("!room:test"), StringComparison.Ordinal)
                .Replace("{userId}", Uri.EscapeDataString("@alice:test"), StringComparison.Ordinal)
                .Replace("{eventId}", Uri.EscapeDataString("$a/b+c"), StringComparison.Ordinal)
                .Replace("{jobId:long}", "1", StringComparison.Ordinal);
            Assert.DoesNotContain("{", path, StringComparison.Ordinal);
            foreach (string method in endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()!.HttpMethods)
            {
                yield return (new HttpMethod(method), path);
            }
        }
    }

    [Fact]
    public async Task Every_admin_route_answers_503_problem_details_with_Retry_After_while_the_database_is_down()
    {
        var routes = AdminRoutes().ToList();
        Assert.Contains(routes, r => r.Path == "/admin/v1/maintenance/prune");
        Assert.True(routes.Count >= 10, string.Join(", ", routes));

        foreach (var (method, path) in routes)
        {
            using var response = await app.Admin().SendAsync(new HttpRequestMessage(method, path));
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{method} {path}: {(int)response.StatusCode} {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("5", response.Headers.GetValues("Retry-After").Single());
            var problem = JsonDocument.Parse(body).RootElement;
            Assert.Equal(503, problem.GetProperty("status").GetInt32());
            Assert.Equal("Database unavailable", problem.GetProperty("title").GetString());
            Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
            Assert.DoesNotContain("Npgsql", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Any_other_failure_is_500_problem_details_without_the_exception_even_in_Development()
    {
        using var response = await app.Admin().GetAsync(DatabaseDownApplication.FailingPath);
        string body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Internal error", JsonDocument.Parse(body).RootElement.GetProperty("title").GetString());
        Assert.DoesNotContain("secret message", body, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Retry-After"));
    }
}
