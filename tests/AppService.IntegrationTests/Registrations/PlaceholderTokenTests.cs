using System.Net;
using System.Net.Http.Headers;
using AppService.IntegrationTests.Infrastructure;
using AppService.Registrations;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Registrations;

/// <summary>The service in the given environment with the repository's kind of registration: CHANGE_ME tokens.</summary>
public sealed class PlaceholderTokenApplication(string environment) : AppServiceApplication
{
    public const string PlaceholderAsToken = "CHANGE_ME_as_token_placeholder";
    public const string PlaceholderHsToken = "CHANGE_ME_hs_token_placeholder";

    protected override (string As, string Hs) RegistrationTokens => (PlaceholderAsToken, PlaceholderHsToken);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseEnvironment(environment);
    }
}

/// <summary>Placeholder tokens through the host's own wiring: the environment decides, not a flag a test passes.</summary>
public sealed class PlaceholderTokenTests
{
    [Fact]
    public async Task A_placeholder_token_is_accepted_in_development()
    {
        var app = new PlaceholderTokenApplication("Development");
        var lifetime = (IAsyncLifetime)app;
        await lifetime.InitializeAsync();
        try
        {
            Assert.Equal(PlaceholderTokenApplication.PlaceholderAsToken, app.Services.GetRequiredService<Registration>().AsToken);

            // The homeserver authenticates with the placeholder hs_token the registration holds.
            using var client = app.Client();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", PlaceholderTokenApplication.PlaceholderHsToken);
            using var response = await client.PutAsync($"/_matrix/app/v1/transactions/dev-{Guid.NewGuid():N}", AppServiceApplication.Body(Member(NewRoomId(), Alice, "join")));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        finally
        {
            await lifetime.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    public async Task A_placeholder_token_is_refused_outside_development(string environment)
    {
        var app = new PlaceholderTokenApplication(environment);
        var lifetime = (IAsyncLifetime)app;
        try
        {
            await lifetime.InitializeAsync();

            // The host's own registration (what Program's start check and every homeserver request resolve).
            var refused = Assert.Throws<RegistrationException>(() => app.Services.GetRequiredService<Registration>());
            Assert.Contains("'as_token' and 'hs_token' are placeholders", refused.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("CHANGE_ME_", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            await lifetime.DisposeAsync();
        }
    }
}
