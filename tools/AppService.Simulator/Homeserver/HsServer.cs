using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AppService.Simulator.Homeserver;

/// <summary>
/// The homeserver's client-server API the service calls, on Kestrel on 127.0.0.1, answered from the live model of
/// every run registered with it (<see cref="HsWorld"/>) at the moment each call arrives:
/// <c>POST /rooms/{roomId}/join</c>, <c>GET /rooms/{roomId}/members</c>, <c>/state</c>, <c>/joined_members</c> and
/// <c>GET /joined_rooms</c>. Every call must carry <c>Authorization: Bearer &lt;as_token&gt;</c>; anything else is
/// 401 and counted (a run with one fails).
/// </summary>
internal sealed class HsServer(string asToken) : IAsyncDisposable
{
    private readonly List<HsWorld> _worlds = [];
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);
    private WebApplication? _app;

    public Uri Url { get; private set; } = new("http://127.0.0.1:0/");

    /// <summary>Calls by route (<c>GET members</c>, ...), and <c>unauthorized</c> / <c>unknown route</c>.</summary>
    public IReadOnlyDictionary<string, int> Calls => _calls;

    public void Register(HsWorld world)
    {
        lock (_worlds)
        {
            _worlds.Add(world);
        }
    }

    /// <summary>Listens on 127.0.0.1:<paramref name="port"/> (0: any free port; <see cref="Url"/> tells which).</summary>
    public async Task StartAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/_matrix/client/v3/rooms/{roomId}/join", (HttpContext http, string roomId) =>
            Answer(http, "POST join", () => WorldOf(roomId)?.Join(roomId) ?? (404, Forbidden("M_NOT_FOUND"))));
        app.MapGet("/_matrix/client/v3/rooms/{roomId}/{endpoint}", (HttpContext http, string roomId, string endpoint) =>
            endpoint is "members" or "state" or "joined_members"
                ? Answer(http, "GET " + endpoint, () => WorldOf(roomId)?.Snapshot(roomId, endpoint) ?? (403, Forbidden("M_FORBIDDEN")))
                : Answer(http, $"unknown route GET {http.Request.Path}", () => (404, Forbidden("M_UNRECOGNIZED"))));
        app.MapGet("/_matrix/client/v3/joined_rooms", (HttpContext http) =>
            Answer(http, "GET joined_rooms", () => (200, Workload.Json.Object(("joined_rooms", AllJoinedRooms())))));
        app.MapPost("/_matrix/client/v1/appservice/{id}/ping", async (HttpContext http) =>
        {
            var transactionId = await ReadTransactionIdAsync(http);
            var started = System.Diagnostics.Stopwatch.StartNew();
            var reached = _pingBack is { } ping && await ping(transactionId);
            return Answer(http, "POST ping", () => reached
                ? (200, Workload.Json.Object(("duration_ms", (long)started.Elapsed.TotalMilliseconds)))
                : (502, Workload.Json.Object(("errcode", "M_CONNECTION_FAILED"), ("error", "the application service did not answer the ping"))));
        });
        app.MapFallback((HttpContext http) => Answer(http, $"unknown route {http.Request.Method} {http.Request.Path}", () => (404, Forbidden("M_UNRECOGNIZED"))));
        await app.StartAsync();
        _app = app;
        Url = new Uri(app.Urls.First().TrimEnd('/') + "/");
    }

    private IResult Answer(HttpContext http, string route, Func<(int Status, byte[] Body)> answer)
    {
        if (http.Request.Headers.Authorization.ToString() != "Bearer " + asToken)
        {
            _calls.AddOrUpdate("unauthorized", 1, (_, n) => n + 1);
            return Json(401, Forbidden("M_UNKNOWN_TOKEN"));
        }
        _calls.AddOrUpdate(route, 1, (_, n) => n + 1);
        var (status, body) = answer();
        return Json(status, body);
    }

    private Func<string?, Task<bool>>? _pingBack;

    /// <summary>
    /// How <c>POST /_matrix/client/v1/appservice/{id}/ping</c> is answered: as a homeserver does, by calling the
    /// application service's <c>POST /_matrix/app/v1/ping</c> with the hs_token and the same transaction_id first.
    /// </summary>
    public void PingBackTo(HttpClient http, Uri serviceUrl, string hsToken) => _pingBack = async transactionId =>
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(serviceUrl, "_matrix/app/v1/ping"))
            {
                Content = new ByteArrayContent(Workload.Json.Object(("transaction_id", transactionId))),
            };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", hsToken);
            using var response = await http.SendAsync(request);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    };

    private static async Task<string?> ReadTransactionIdAsync(HttpContext http)
    {
        try
        {
            using var body = await System.Text.Json.JsonDocument.ParseAsync(http.Request.Body);
            return body.RootElement.TryGetProperty("transaction_id", out var id) && id.ValueKind == System.Text.Json.JsonValueKind.String ? id.GetString() : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static IResult Json(int status, byte[] body) =>
        Results.Text(System.Text.Encoding.UTF8.GetString(body), "application/json", System.Text.Encoding.UTF8, status);

    private HsWorld? WorldOf(string roomId)
    {
        lock (_worlds)
        {
            return _worlds.FirstOrDefault(w => w.HasRoom(roomId));
        }
    }

    private string[] AllJoinedRooms()
    {
        lock (_worlds)
        {
            return [.. _worlds.SelectMany(w => w.JoinedRooms())];
        }
    }

    private static byte[] Forbidden(string code) => Workload.Json.Object(("errcode", code), ("error", code));

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
