using System.Net;
using System.Net.Http.Headers;
using System.Text;
using AppService.Homeserver;
using Polly;

namespace AppService.Tests.Homeserver;

public sealed class HomeserverResilienceTests
{
    [Theory]
    [InlineData("GET", true)]
    [InlineData("HEAD", true)]
    [InlineData("PUT", true)]
    [InlineData("POST", false)]
    [InlineData("DELETE", false)]
    [InlineData("PATCH", false)]
    public void Only_idempotent_methods_are_retried_inside_a_call(string method, bool retried) =>
        Assert.Equal(retried, HomeserverResilience.IsRetriedInCall(new HttpMethod(method)));

    [Fact]
    public async Task A_429_asks_for_the_wait_in_its_header_or_else_in_its_body()
    {
        using var header = new HttpResponseMessage(HttpStatusCode.TooManyRequests) { Content = new StringContent("{}") };
        header.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(3));
        using var body = new HttpResponseMessage(HttpStatusCode.TooManyRequests)
        {
            Content = new StringContent("""{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":1200}""", Encoding.UTF8, "application/json"),
        };
        using var plain = new HttpResponseMessage(HttpStatusCode.InternalServerError) { Content = new StringContent("""{"retry_after_ms":1}""") };

        Assert.Equal(TimeSpan.FromSeconds(3), await HomeserverResilience.ServerDelayAsync(Outcome.FromResult(header), TimeProvider.System));
        Assert.Equal(TimeSpan.FromMilliseconds(1200), await HomeserverResilience.ServerDelayAsync(Outcome.FromResult(body), TimeProvider.System));
        Assert.Null(await HomeserverResilience.ServerDelayAsync(Outcome.FromResult(plain), TimeProvider.System));

        // The body stays readable for the error the caller builds after the last attempt.
        Assert.Contains("M_LIMIT_EXCEEDED", await body.Content.ReadAsStringAsync());
    }
}
