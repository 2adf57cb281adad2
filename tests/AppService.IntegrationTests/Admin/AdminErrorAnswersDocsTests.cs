using System.Net;
using System.Text.Json;
using AppService.IntegrationTests.Infrastructure;

namespace AppService.IntegrationTests.Admin;

/// <summary>What Swagger UI says about the admin API's error answers, parameters and ProblemDetails.</summary>
public sealed class AdminErrorAnswersDocsTests(SwaggerEnabledApplication app) : IClassFixture<SwaggerEnabledApplication>
{
    private static readonly string[] GenericDescriptions = ["Bad Request", "Unauthorized", "Not Found", "Conflict", "Gone", "Service Unavailable"];

    private async Task<JsonElement> DocumentAsync() =>
        JsonDocument.Parse(await app.CreateClient().GetStringAsync("/swagger/v1/swagger.json")).RootElement;

    private static JsonElement Operation(JsonElement document, string method, string path) =>
        document.GetProperty("paths").GetProperty(path).GetProperty(method);

    private static string Answer(JsonElement operation, int status) =>
        operation.GetProperty("responses").TryGetProperty(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out var response)
            ? response.GetProperty("description").GetString()!
            : throw new Xunit.Sdk.XunitException($"no {status} answer documented");

    [Fact]
    public async Task Every_admin_route_lists_its_error_answers_with_what_each_means_for_it()
    {
        var document = await DocumentAsync();
        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(method => (Route: $"{method.Name.ToUpperInvariant()} {path.Name}", Operation: method.Value)))
            .ToList();

        Assert.True(operations.Count >= 11, string.Join(", ", operations.Select(o => o.Route)));
        foreach (var (route, operation) in operations)
        {
            Assert.Contains("Retry-After", Answer(operation, 503), StringComparison.Ordinal);
            Assert.Contains("AppService:AdminToken", Answer(operation, 401), StringComparison.Ordinal);
            foreach (var answer in operation.GetProperty("responses").EnumerateObject().Where(r => r.Name[0] is '4' or '5'))
            {
                string description = answer.Value.GetProperty("description").GetString()!;
                Assert.True(!GenericDescriptions.Contains(description), $"{route} {answer.Name} says only '{description}'");
            }
        }

        Assert.Contains("Unknown room", Answer(Operation(document, "get", "/admin/v1/rooms/{roomId}"), 404), StringComparison.Ordinal);
        Assert.Contains("Unknown room", Answer(Operation(document, "get", "/admin/v1/rooms/{roomId}/members"), 404), StringComparison.Ordinal);
        Assert.Contains("Unknown event", Answer(Operation(document, "get", "/admin/v1/events/{eventId}"), 404), StringComparison.Ordinal);
        Assert.Contains("nothing to resync", Answer(Operation(document, "post", "/admin/v1/rooms/{roomId}/resync"), 404), StringComparison.Ordinal);
        // A resync of a room we hold as not joined is accepted (the homeserver's /joined_rooms decides): no 409.
        Assert.False(Operation(document, "post", "/admin/v1/rooms/{roomId}/resync").GetProperty("responses").TryGetProperty("409", out _));
        Assert.Contains("limit", Answer(Operation(document, "get", "/admin/v1/rooms"), 400), StringComparison.Ordinal);
        // A route that has no such answer does not list it.
        Assert.False(Operation(document, "post", "/admin/v1/maintenance/prune").GetProperty("responses").TryGetProperty("400", out _));
        Assert.False(Operation(document, "get", "/admin/v1/users/{userId}/rooms").GetProperty("responses").TryGetProperty("404", out _));
    }

    [Fact]
    public async Task The_ProblemDetails_schema_is_closed_and_its_example_is_a_real_answer()
    {
        var document = await DocumentAsync();

        Assert.Contains("Retry after", Answer(Operation(document, "get", "/admin/v1/stats"), 503), StringComparison.Ordinal);
        var problem = document.GetProperty("components").GetProperty("schemas").GetProperty("ProblemDetails");
        Assert.False(problem.TryGetProperty("additionalProperties", out var extra) && extra.ValueKind != JsonValueKind.False,
            $"ProblemDetails is open-ended (Swagger UI shows additionalProp1..3): {problem}");
        Assert.Equal(503, problem.GetProperty("example").GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Parameters_say_what_they_filter_on_their_own_route_and_reason_lists_its_codes()
    {
        var document = await DocumentAsync();
        JsonElement Parameter(string method, string path, string name) =>
            Operation(document, method, path).GetProperty("parameters").EnumerateArray().Single(p => p.GetProperty("name").GetString() == name);

        string rejectedRoom = Parameter("get", "/admin/v1/rejected-events", "room_id").GetProperty("description").GetString()!;
        string jobsRoom = Parameter("get", "/admin/v1/jobs", "room_id").GetProperty("description").GetString()!;
        string userMembership = Parameter("get", "/admin/v1/users/{userId}/rooms", "membership").GetProperty("description").GetString()!;
        var reason = Parameter("get", "/admin/v1/rejected-events", "reason");

        Assert.Contains("rejected events", rejectedRoom, StringComparison.Ordinal);
        Assert.DoesNotContain("jobs", rejectedRoom, StringComparison.Ordinal);
        Assert.Contains("jobs", jobsRoom, StringComparison.Ordinal);
        Assert.Contains("rooms the user is in", userMembership, StringComparison.Ordinal);
        Assert.DoesNotContain("who is in the room", userMembership, StringComparison.Ordinal);
        Assert.Equal(
            ["not_object", "missing_field", "invalid_string", "wrong_type", "too_large", "too_deep", "processing_failed", "legacy"],
            reason.GetProperty("schema").GetProperty("enum").EnumerateArray().Select(v => v.GetString()));
    }

    [Fact]
    public async Task The_root_redirects_to_Swagger_UI_when_it_is_served()
    {
        var client = app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        using var root = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.Redirect, root.StatusCode);
        Assert.Equal("/swagger", root.Headers.Location?.OriginalString);
    }
}
