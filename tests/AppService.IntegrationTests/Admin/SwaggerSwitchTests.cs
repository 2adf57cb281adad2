using System.Net;
using AppService.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Hosting;

namespace AppService.IntegrationTests.Admin;

/// <summary>The service outside Development with <c>AppService:Swagger:Enabled=true</c>.</summary>
public sealed class SwaggerEnabledApplication : AppServiceApplication
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("AppService:Swagger:Enabled", "true")];
}

/// <summary>The service in Development with no Swagger setting.</summary>
public sealed class DevelopmentApplication : AppServiceApplication
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseEnvironment("Development");
    }
}

public sealed class SwaggerOffByDefaultTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    [Fact]
    public async Task Outside_Development_Swagger_is_not_served_unless_enabled()
    {
        using var document = await app.CreateClient().GetAsync("/swagger/v1/swagger.json");
        using var ui = await app.CreateClient().GetAsync("/swagger/index.html");

        Assert.Equal(HttpStatusCode.NotFound, document.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, ui.StatusCode);
    }
}

public sealed class SwaggerEnabledTests(SwaggerEnabledApplication app) : IClassFixture<SwaggerEnabledApplication>
{
    [Fact]
    public async Task Outside_Development_Swagger_is_served_when_enabled()
    {
        using var document = await app.CreateClient().GetAsync("/swagger/v1/swagger.json");
        using var ui = await app.CreateClient().GetAsync("/swagger/index.html");

        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
    }
}

public sealed class SwaggerInDevelopmentTests(DevelopmentApplication app) : IClassFixture<DevelopmentApplication>
{
    [Fact]
    public async Task In_Development_Swagger_is_served_by_default()
    {
        using var document = await app.CreateClient().GetAsync("/swagger/v1/swagger.json");

        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
    }
}
