using AppService.Hosting;

namespace AppService.Tests.Hosting;

public sealed class HostPathsTests
{
    [Fact]
    public void A_relative_configured_path_is_taken_from_the_current_directory()
    {
        Assert.Equal(Path.Combine(Environment.CurrentDirectory, "registration.yaml"), HostPaths.Resolve("registration.yaml"));
        Assert.Equal("/etc/appservice/registration.yaml", HostPaths.Resolve("/etc/appservice/registration.yaml"));
    }

    [Fact]
    public void Appsettings_are_read_from_the_applications_directory_wherever_it_is_started_from()
    {
        Assert.Equal(AppContext.BaseDirectory, HostPaths.Options(["--urls", "http://127.0.0.1:9000"]).ContentRootPath);
    }

    [Theory]
    [InlineData("--contentRoot=/srv/app")]
    [InlineData("--contentroot")]
    public void An_explicit_content_root_wins(string argument)
    {
        Assert.Null(HostPaths.Options([argument, "/srv/app"]).ContentRootPath);
    }
}
