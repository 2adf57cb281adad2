using System.Net;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Transactions;

/// <summary>
/// The service with the logging an operator might set: a provider-level rule
/// (<c>Logging__Console__LogLevel__Default=Trace</c>, here for the capturing provider) beats the code's category
/// filters, so the hosting layer's request lines are written.
/// </summary>
public sealed class ProviderLevelLoggingApplication : AppServiceApplication
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Logging:Captured:LogLevel:Default", "Trace"),
        new("Logging:LogLevel:Default", "Trace"),
    ];
}

public sealed class TokenLoggingTests(ProviderLevelLoggingApplication app) : IClassFixture<ProviderLevelLoggingApplication>
{
    [Fact]
    public async Task The_hs_token_in_the_query_string_is_not_logged_even_with_a_provider_level_Trace_rule()
    {
        var request = new HttpRequestMessage(HttpMethod.Put, "/_matrix/app/v1/transactions/prov-1?access_token=" + AppServiceApplication.HsToken + "&x=1")
        {
            Content = AppServiceApplication.Body(Member(NewRoomId(), Alice, "join")),
        };
        using var ok = await app.CreateClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        using var wrong = await app.CreateClient().SendAsync(new HttpRequestMessage(HttpMethod.Put, "/transactions/prov-2?access_token=" + AppServiceApplication.HsToken + "x")
        {
            Content = AppServiceApplication.Body(Member(NewRoomId(), Alice, "join")),
        });
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);

        // The rule took effect: the hosting layer wrote its request lines.
        Assert.Contains(app.Logs.Lines, l => l.Contains("Request starting", StringComparison.Ordinal) && l.Contains("prov-1", StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains(AppServiceApplication.HsToken, StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("access_token", StringComparison.Ordinal));

        // The rest of the query string is kept.
        Assert.Contains(app.Logs.Lines, l => l.Contains("Request starting", StringComparison.Ordinal) && l.Contains("prov-1?x=1", StringComparison.Ordinal));
    }
}
