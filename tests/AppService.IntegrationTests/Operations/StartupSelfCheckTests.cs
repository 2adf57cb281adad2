using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using AppService.Observability;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace AppService.IntegrationTests.Operations;

/// <summary>
/// The service with a homeserver URL whose client-server API is a stub in this process. In "synapse" mode the stub
/// does what Synapse does on <c>POST /_matrix/client/v1/appservice/{id}/ping</c>: it pings the service back with the
/// same transaction_id and the hs_token, and answers 200 only if the service answered 200.
/// </summary>
public abstract class SelfCheckApplication(string mode) : AppServiceApplication
{
    public const string HomeserverUrl = "http://homeserver.test:8008";

    public List<(string Path, string? Authorization, string? TransactionId)> PingRequests { get; } = [];

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("AppService:HomeserverUrl", HomeserverUrl)];

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        // The stub calls back into the host it belongs to through that host's own TestServer. Going through the
        // factory instead (CreateClient) while the host is still starting would make the factory build a second host.
        builder.ConfigureServices(services =>
        {
            services.Configure<SelfCheckOptions>(o => o.RetryDelays = [TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10)]);
            services.AddHttpClient(StartupSelfCheck.HttpClientName)
                .ConfigurePrimaryHttpMessageHandler(sp => new StubHomeserver(this, (TestServer)sp.GetRequiredService<IServer>(), mode));
        });
    }

    /// <summary>Waits for the one line the self-check logs.</summary>
    public async Task<string> SelfCheckLineAsync()
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (Logs.Lines.FirstOrDefault(l => l.Contains("Homeserver self-check", StringComparison.Ordinal)) is { } line)
            {
                return line;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("the self-check logged nothing within 30 s");
    }

    private sealed class StubHomeserver(SelfCheckApplication app, TestServer server, string mode) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            string? transactionId = request.Content is null ? null
                : JsonDocument.Parse(await request.Content.ReadAsStringAsync(cancellationToken)).RootElement.GetProperty("transaction_id").GetString();
            lock (app.PingRequests)
            {
                app.PingRequests.Add((request.RequestUri!.AbsolutePath, request.Headers.Authorization?.ToString(), transactionId));
            }

            switch (mode)
            {
                case "down":
                    throw new HttpRequestException("Connection refused (homeserver.test:8008)");
                case "elsewhere":
                    return Json(HttpStatusCode.OK, new JsonObject { ["duration_ms"] = 1 });
                case "forbidden":
                    return Json(HttpStatusCode.Forbidden, new JsonObject { ["errcode"] = "M_FORBIDDEN", ["error"] = "Application service ID mismatch" });
            }

            // Synapse: ping the appservice with the hs_token, answer 502 M_BAD_STATUS unless it said 200.
            using var appservice = new HttpClient(server.CreateHandler()) { BaseAddress = server.BaseAddress };
            appservice.DefaultRequestHeaders.Authorization = new("Bearer", HsToken);
            using var callback = await appservice.PostAsJsonAsync("/_matrix/app/v1/ping", new { transaction_id = transactionId }, cancellationToken);
            return callback.StatusCode == HttpStatusCode.OK
                ? Json(HttpStatusCode.OK, new JsonObject { ["duration_ms"] = 7 })
                : Json(HttpStatusCode.BadGateway, new JsonObject { ["errcode"] = "M_BAD_STATUS", ["status"] = (int)callback.StatusCode });
        }

        private static HttpResponseMessage Json(HttpStatusCode status, JsonObject body) =>
            new(status) { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
    }
}

public sealed class SynapseLikeHomeserverApplication() : SelfCheckApplication("synapse");

public sealed class DownHomeserverApplication() : SelfCheckApplication("down");

public sealed class ElsewhereHomeserverApplication() : SelfCheckApplication("elsewhere");

public sealed class ForbiddingHomeserverApplication() : SelfCheckApplication("forbidden");

public sealed class SelfCheckWithSynapseTests(SynapseLikeHomeserverApplication app) : IClassFixture<SynapseLikeHomeserverApplication>
{
    [Fact]
    public async Task The_self_check_pings_with_the_as_token_and_logs_that_the_homeserver_reached_us_back()
    {
        string line = await app.SelfCheckLineAsync();

        Assert.Contains("self-check OK", line, StringComparison.Ordinal);
        Assert.StartsWith("Information", line, StringComparison.Ordinal);
        var (path, authorization, transactionId) = Assert.Single(app.PingRequests);
        Assert.Equal("/_matrix/client/v1/appservice/test-appservice/ping", path);
        Assert.Equal($"Bearer {AppServiceApplication.AsToken}", authorization);
        Assert.StartsWith("self-check-", transactionId, StringComparison.Ordinal);
        Assert.Contains(transactionId!, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_self_check_logs_one_line_and_never_a_token()
    {
        await app.SelfCheckLineAsync();

        Assert.Single(app.Logs.Lines, l => l.Contains("Homeserver self-check", StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains(AppServiceApplication.AsToken, StringComparison.Ordinal)
            || l.Contains(AppServiceApplication.HsToken, StringComparison.Ordinal));
    }
}

public sealed class SelfCheckWithDownHomeserverTests(DownHomeserverApplication app) : IClassFixture<DownHomeserverApplication>
{
    [Fact]
    public async Task A_homeserver_that_is_down_is_retried_logged_once_and_does_not_stop_the_service()
    {
        string line = await app.SelfCheckLineAsync();

        Assert.Contains("cannot be reached after 3 attempt(s)", line, StringComparison.Ordinal);
        Assert.Equal(3, app.PingRequests.Count);
        using var ready = await app.CreateClient().GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        await app.PushOkAsync("after-self-check", Events.Member(Events.NewRoomId(), Events.Alice, "join"));
    }
}

public sealed class SelfCheckWithPingAnsweredElsewhereTests(ElsewhereHomeserverApplication app) : IClassFixture<ElsewhereHomeserverApplication>
{
    [Fact]
    public async Task A_ping_that_never_reached_this_process_is_reported_as_such()
    {
        string line = await app.SelfCheckLineAsync();

        Assert.StartsWith("Warning", line, StringComparison.Ordinal);
        Assert.Contains("did not reach this process", line, StringComparison.Ordinal);
        Assert.Contains("http://127.0.0.1:9000", line, StringComparison.Ordinal);
    }
}

public sealed class SelfCheckWithForbiddingHomeserverTests(ForbiddingHomeserverApplication app) : IClassFixture<ForbiddingHomeserverApplication>
{
    [Fact]
    public async Task A_refused_as_token_is_reported_with_the_appservice_id()
    {
        string line = await app.SelfCheckLineAsync();

        Assert.Contains("refused our as_token or appservice id 'test-appservice'", line, StringComparison.Ordinal);
        Assert.Single(app.PingRequests);
    }
}
