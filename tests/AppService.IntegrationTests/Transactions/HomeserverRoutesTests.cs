using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Transactions;

public sealed class HomeserverRoutesTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    private const string Txn = "/_matrix/app/v1/transactions/";

    private static async Task AssertMatrixErrorAsync(HttpResponseMessage response, HttpStatusCode status, string errcode)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode} {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(errcode, JsonDocument.Parse(body).RootElement.GetProperty("errcode").GetString());
    }

    private static HttpRequestMessage Put(string path, string? bearer = null) => new(HttpMethod.Put, path)
    {
        Content = AppServiceApplication.Body(Member(NewRoomId(), Alice, "join")),
        Headers = { Authorization = bearer is null ? null : new AuthenticationHeaderValue("Bearer", bearer) },
    };

    [Fact]
    public async Task Missing_token_is_401_M_MISSING_TOKEN()
    {
        using var response = await app.CreateClient().SendAsync(Put(Txn + "a1"));
        await AssertMatrixErrorAsync(response, HttpStatusCode.Unauthorized, "M_MISSING_TOKEN");
    }

    [Fact]
    public async Task Wrong_bearer_token_is_403_M_FORBIDDEN()
    {
        using var response = await app.CreateClient().SendAsync(Put(Txn + "a2", bearer: "not-the-token"));
        await AssertMatrixErrorAsync(response, HttpStatusCode.Forbidden, "M_FORBIDDEN");
    }

    [Fact]
    public async Task A_non_bearer_authorization_header_is_403_M_FORBIDDEN()
    {
        var request = Put(Txn + "a3");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", "dXNlcjpwYXNz");
        using var response = await app.CreateClient().SendAsync(request);
        await AssertMatrixErrorAsync(response, HttpStatusCode.Forbidden, "M_FORBIDDEN");
    }

    [Fact]
    public async Task Legacy_access_token_query_parameter_is_accepted()
    {
        using var response = await app.CreateClient().SendAsync(Put(Txn + "a4?access_token=" + AppServiceApplication.HsToken));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Wrong_legacy_access_token_is_403_M_FORBIDDEN()
    {
        using var response = await app.CreateClient().SendAsync(Put(Txn + "a5?access_token=nope"));
        await AssertMatrixErrorAsync(response, HttpStatusCode.Forbidden, "M_FORBIDDEN");
    }

    [Fact]
    public async Task Header_and_query_token_that_differ_are_403_even_when_one_is_right()
    {
        using var rightHeader = await app.CreateClient().SendAsync(Put(Txn + "a6?access_token=nope", bearer: AppServiceApplication.HsToken));
        await AssertMatrixErrorAsync(rightHeader, HttpStatusCode.Forbidden, "M_FORBIDDEN");
        using var rightQuery = await app.CreateClient().SendAsync(Put(Txn + "a7?access_token=" + AppServiceApplication.HsToken, bearer: "nope"));
        await AssertMatrixErrorAsync(rightQuery, HttpStatusCode.Forbidden, "M_FORBIDDEN");
    }

    [Fact]
    public async Task Header_and_query_token_that_match_are_accepted()
    {
        using var response = await app.CreateClient().SendAsync(Put(Txn + "a8?access_token=" + AppServiceApplication.HsToken, bearer: AppServiceApplication.HsToken));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("GET", "/_matrix/app/v1/users/%40_bot_x%3Atest")]
    [InlineData("GET", "/_matrix/app/v1/rooms/%23alias%3Atest")]
    [InlineData("POST", "/_matrix/app/v1/ping")]
    [InlineData("GET", "/_matrix/app/v1/thirdparty/protocol/irc")]
    [InlineData("GET", "/_matrix/app/v1/thirdparty/user/irc")]
    [InlineData("GET", "/_matrix/app/v1/thirdparty/location/irc")]
    [InlineData("GET", "/_matrix/app/v1/thirdparty/user")]
    [InlineData("GET", "/_matrix/app/v1/thirdparty/location")]
    [InlineData("PUT", "/transactions/legacy-1")]
    [InlineData("GET", "/users/%40_bot_x%3Atest")]
    [InlineData("GET", "/rooms/%23alias%3Atest")]
    [InlineData("GET", "/_matrix/app/unstable/thirdparty/protocol/irc")]
    public async Task Every_homeserver_route_requires_the_token(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent("{\"events\":[]}", Encoding.UTF8, "application/json") };
        using var response = await app.CreateClient().SendAsync(request);
        await AssertMatrixErrorAsync(response, HttpStatusCode.Unauthorized, "M_MISSING_TOKEN");
    }

    [Fact]
    public async Task Unknown_route_under_matrix_is_404_M_UNRECOGNIZED()
    {
        using var response = await app.Homeserver().GetAsync("/_matrix/app/v1/nonsense");
        await AssertMatrixErrorAsync(response, HttpStatusCode.NotFound, "M_UNRECOGNIZED");
        using var keys = await app.Homeserver().PostAsync("/_matrix/app/unstable/org.matrix.msc3983/keys/claim", new StringContent("{}"));
        await AssertMatrixErrorAsync(keys, HttpStatusCode.NotFound, "M_UNRECOGNIZED");
    }

    [Fact]
    public async Task Known_route_with_the_wrong_method_is_405_M_UNRECOGNIZED()
    {
        using var response = await app.Homeserver().GetAsync(Txn + "1");
        await AssertMatrixErrorAsync(response, HttpStatusCode.MethodNotAllowed, "M_UNRECOGNIZED");
        using var legacy = await app.Homeserver().DeleteAsync("/transactions/1");
        await AssertMatrixErrorAsync(legacy, HttpStatusCode.MethodNotAllowed, "M_UNRECOGNIZED");
    }

    [Fact]
    public async Task Ping_accepts_a_null_transaction_id_and_answers_an_empty_object()
    {
        using var response = await app.Homeserver().PostAsync("/_matrix/app/v1/ping", new StringContent("{\"transaction_id\":null}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{}", await response.Content.ReadAsStringAsync());
        using var withId = await app.Homeserver().PostAsync("/_matrix/app/v1/ping", new StringContent("{\"transaction_id\":\"abc\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, withId.StatusCode);
    }

    [Fact]
    public async Task User_and_alias_queries_answer_404_M_NOT_FOUND()
    {
        using var user = await app.Homeserver().GetAsync("/_matrix/app/v1/users/%40_bot_alice%3Atest");
        await AssertMatrixErrorAsync(user, HttpStatusCode.NotFound, "M_NOT_FOUND");
        using var alias = await app.Homeserver().GetAsync("/_matrix/app/v1/rooms/%23_bot_room%3Atest");
        await AssertMatrixErrorAsync(alias, HttpStatusCode.NotFound, "M_NOT_FOUND");
    }

    [Fact]
    public async Task Third_party_routes_answer_per_spec()
    {
        using var unknown = await app.Homeserver().GetAsync("/_matrix/app/v1/thirdparty/protocol/slack");
        await AssertMatrixErrorAsync(unknown, HttpStatusCode.NotFound, "M_NOT_FOUND");
        using var known = await app.Homeserver().GetAsync("/_matrix/app/v1/thirdparty/protocol/irc");
        Assert.Equal(HttpStatusCode.OK, known.StatusCode);
        var protocol = JsonDocument.Parse(await known.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(JsonValueKind.Array, protocol.GetProperty("instances").ValueKind);
        using var users = await app.Homeserver().GetAsync("/_matrix/app/v1/thirdparty/user/irc?nick=x");
        Assert.Equal("[]", await users.Content.ReadAsStringAsync());
        using var byAlias = await app.Homeserver().GetAsync("/_matrix/app/v1/thirdparty/location?alias=%23x%3Atest");
        Assert.Equal("[]", await byAlias.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_hs_token_is_never_logged_even_when_it_travels_in_the_query_string()
    {
        using var response = await app.CreateClient().SendAsync(Put("/transactions/log-1?access_token=" + AppServiceApplication.HsToken));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var wrong = await app.CreateClient().SendAsync(Put(Txn + "log-2?access_token=" + AppServiceApplication.HsToken + "x"));

        Assert.NotEmpty(app.Logs.Lines);
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains(AppServiceApplication.HsToken, StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains(AppServiceApplication.AsToken, StringComparison.Ordinal));
    }
}
