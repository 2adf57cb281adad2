using AppService.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;

namespace AppService.Tests.Hosting;

/// <summary>
/// AppService:ServerName has no silent default outside Development. (The real start that proves it is refused runs
/// a process: Operations/ServerNameStartTests in the integration tests.)
/// </summary>
public sealed class ServerNameTests
{
    private static ServerNameValidation For(string environment) =>
        new(new HostingEnvironment { EnvironmentName = environment });

    [Theory]
    [InlineData("Production", null, false)]
    [InlineData("Production", "", false)]
    [InlineData("Staging", "  ", false)]
    [InlineData("Production", "example.org", true)]
    [InlineData("Development", null, true)]
    public void The_server_name_is_required_outside_development(string environment, string? serverName, bool valid) =>
        Assert.Equal(valid, For(environment).Validate(null, new AppServiceOptions { ServerName = serverName }).Succeeded);
}
