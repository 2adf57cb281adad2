using System.Net;
using AppService.IntegrationTests.Infrastructure;

namespace AppService.IntegrationTests.InputSafety;

/// <summary>U+0000 in admin parameters: 400 ProblemDetails (or the server's own 400 for a path), never 500.</summary>
public sealed class AdminParameterTests(KestrelApplication app) : HostileInput(app), IClassFixture<KestrelApplication>
{
    [Theory]
    [InlineData("/admin/v1/rejected-events?room_id=%00")]
    [InlineData("/admin/v1/jobs?room_id=a%00b")]
    [InlineData("/admin/v1/rooms?from=%00")]
    [InlineData("/admin/v1/rejected-events?reason=x%00")]
    [InlineData("/admin/v1/rooms/!a:test/members?membership=%00")]
    public async Task Nul_in_an_admin_parameter_is_a_400_not_a_500(string path)
    {
        using var response = await App.Admin().GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("/admin/v1/rooms?from=%00")]
    [InlineData("/admin/v1/rooms?from=IQA")] // base64url of "!\0": a well-formed token of a room id with U+0000
    [InlineData("/admin/v1/jobs?room_id=%00")]
    [InlineData("/admin/v1/jobs?room_id=%21r%00%3Atest&state=all")]
    public async Task NUL_in_an_admin_query_parameter_is_400_problem_details(string path)
    {
        using var response = await App.Admin().GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/admin/v1/rooms/%21r%00%3Atest")]
    [InlineData("/admin/v1/rooms/%21r%00%3Atest/members")]
    [InlineData("/admin/v1/users/%40u%00%3Atest/rooms")]
    [InlineData("/admin/v1/events/%24e%00")]
    public async Task NUL_in_an_admin_path_id_is_a_4xx(string path)
    {
        // Kestrel itself refuses a path that decodes to U+0000 (400 without a body); whoever answers, never 5xx.
        using var response = await App.Admin().GetAsync(path);
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
