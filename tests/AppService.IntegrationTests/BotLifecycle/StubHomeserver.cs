using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace AppService.IntegrationTests.BotLifecycle;

/// <summary>One request the service made to the stub, as it arrived on the wire.</summary>
public sealed record RecordedRequest(string Method, string Path, string Query, string? Authorization, string Body, DateTimeOffset At);

/// <summary>A scripted answer: status, JSON body, extra headers.</summary>
public sealed record StubAnswer(int Status, string Body, IReadOnlyDictionary<string, string>? Headers = null)
{
    public static StubAnswer MatrixError(int status, string errCode, string error, long? retryAfterMs = null) => new(
        status,
        new JsonObject { ["errcode"] = errCode, ["error"] = error, ["retry_after_ms"] = retryAfterMs is null ? null : JsonValue.Create(retryAfterMs.Value) }.ToJsonString());
}

/// <summary>A request held by the stub until the test releases it, with the answer it will then get.</summary>
public sealed class StubGate
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the request has arrived and is being held.</summary>
    public Task Reached => _reached.Task;

    public void Release() => _released.TrySetResult();

    internal async Task HoldAsync(CancellationToken ct)
    {
        _reached.TrySetResult();
        await _released.Task.WaitAsync(ct);
    }
}

/// <summary>
/// The homeserver's client-server API for the bot-lifecycle tests: a real Kestrel server on 127.0.0.1 in the test
/// process, so the service's HttpClient, resilience pipeline and sockets are the production ones. It keeps each
/// room's current state (tests set it), answers /join, /members, /state, /joined_members and /joined_rooms from it, records every
/// request, and can be scripted per route: answers in order (429, 500, ...), a request held until the test
/// releases it, or the whole server stopped and started again on the same port.
/// </summary>
public sealed class StubHomeserver : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Dictionary<(string Type, string StateKey), JsonObject>> _rooms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<StubAnswer>> _scripts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StubGate> _gates = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly string _asToken;
    private WebApplication? _app;
    private int _port;

    public StubHomeserver(string asToken) => _asToken = asToken;

    public Uri Url => new($"http://127.0.0.1:{_port}/");

    public IReadOnlyCollection<RecordedRequest> Requests => _requests;

    public async Task StartAsync()
    {
        for (int attempt = 0; ; attempt++)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrel().UseUrls($"http://127.0.0.1:{_port}");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            app.Map("/{**path}", HandleAsync);
            try
            {
                await app.StartAsync();
                _app = app;
                _port = new Uri(app.Urls.First()).Port;
                return;
            }
            catch (IOException) when (attempt < 20 && _port != 0)
            {
                // Restarting on the same port right after a stop: wait for the socket to be released.
                await app.DisposeAsync();
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Stops listening: connections are refused until <see cref="StartAsync"/> (same port).</summary>
    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    /// <summary>Sets (or replaces) state events of a room; member events included.</summary>
    public void SetState(string roomId, params JsonObject[] events)
    {
        var state = _rooms.GetOrAdd(roomId, _ => []);
        lock (state)
        {
            foreach (var e in events)
            {
                state[(e["type"]!.GetValue<string>(), e["state_key"]!.GetValue<string>())] = (JsonObject)e.DeepClone();
            }
        }
    }

    /// <summary>The answers the next requests to <paramref name="method"/> <paramref name="pathSuffix"/> get, in order, before the default.</summary>
    public void Script(string method, string pathSuffix, params StubAnswer[] answers)
    {
        var queue = _scripts.GetOrAdd(Key(method, pathSuffix), _ => new ConcurrentQueue<StubAnswer>());
        foreach (var answer in answers)
        {
            queue.Enqueue(answer);
        }
    }

    /// <summary>Holds the next request to <paramref name="method"/> <paramref name="pathSuffix"/> until released; it then gets the state as it is at that moment.</summary>
    public StubGate Hold(string method, string pathSuffix) => _gates[Key(method, pathSuffix)] = new StubGate();

    public IReadOnlyList<RecordedRequest> RequestsTo(string method, string pathSuffix) =>
        _requests.Where(r => r.Method == method && r.Path.EndsWith(pathSuffix, StringComparison.Ordinal)).ToList();

    public static string RoomPath(string roomId, string endpoint) => $"/_matrix/client/v3/rooms/{roomId}/{endpoint}";

    private static string Key(string method, string pathSuffix) => $"{method} {pathSuffix}";

    private async Task HandleAsync(HttpContext http)
    {
        string body = await new StreamReader(http.Request.Body, Encoding.UTF8).ReadToEndAsync();
        string path = http.Request.Path.Value ?? "";
        string method = http.Request.Method;
        _requests.Enqueue(new RecordedRequest(method, path, http.Request.QueryString.Value ?? "", http.Request.Headers.Authorization.FirstOrDefault(), body, DateTimeOffset.UtcNow));

        if (http.Request.Headers.Authorization.ToString() != $"Bearer {_asToken}")
        {
            await WriteAsync(http, StubAnswer.MatrixError(401, "M_UNKNOWN_TOKEN", "Unknown access token"));
            return;
        }

        foreach (var (key, gate) in _gates)
        {
            if (Matches(key, method, path) && _gates.TryRemove(key, out _))
            {
                await gate.HoldAsync(http.RequestAborted);
                break;
            }
        }

        foreach (var (key, queue) in _scripts)
        {
            if (Matches(key, method, path) && queue.TryDequeue(out var scripted))
            {
                await WriteAsync(http, scripted);
                return;
            }
        }

        await WriteAsync(http, Default(method, path));
    }

    private static bool Matches(string key, string method, string path) =>
        key.StartsWith(method + " ", StringComparison.Ordinal) && path.EndsWith(key[(method.Length + 1)..], StringComparison.Ordinal);

    private StubAnswer Default(string method, string path)
    {
        if (method == "GET" && path == "/_matrix/client/v3/joined_rooms")
        {
            return new StubAnswer(200, new JsonObject { ["joined_rooms"] = new JsonArray(JoinedRooms().Select(r => (JsonNode)r).ToArray()) }.ToJsonString());
        }

        string[] segments = path.Split('/');
        if (segments.Length != 7 || segments[1] != "_matrix" || segments[4] != "rooms")
        {
            return StubAnswer.MatrixError(404, "M_UNRECOGNIZED", "Unrecognized request");
        }

        string roomId = segments[5];
        var events = new List<JsonObject>();
        if (_rooms.TryGetValue(roomId, out var state))
        {
            lock (state)
            {
                events.AddRange(state.Values.Select(e => (JsonObject)e.DeepClone()));
            }
        }

        return (method, segments[6]) switch
        {
            ("POST", "join") => new StubAnswer(200, new JsonObject { ["room_id"] = roomId }.ToJsonString()),
            ("GET", "members") => new StubAnswer(200, new JsonObject
            {
                ["chunk"] = new JsonArray(events.Where(e => e["type"]!.GetValue<string>() == "m.room.member").Select(e => (JsonNode)e).ToArray()),
            }.ToJsonString()),
            ("GET", "state") => new StubAnswer(200, new JsonArray(events.Select(e => (JsonNode)e).ToArray()).ToJsonString()),
            ("GET", "joined_members") => new StubAnswer(200, new JsonObject
            {
                ["joined"] = new JsonObject(events
                    .Where(e => e["type"]!.GetValue<string>() == "m.room.member" && e["content"]!["membership"]!.GetValue<string>() == "join")
                    .Select(e => KeyValuePair.Create(e["state_key"]!.GetValue<string>(), (JsonNode?)new JsonObject
                    {
                        ["display_name"] = e["content"]!["displayname"]?.DeepClone(),
                        ["avatar_url"] = e["content"]!["avatar_url"]?.DeepClone(),
                    }))),
            }.ToJsonString()),
            _ => StubAnswer.MatrixError(404, "M_UNRECOGNIZED", "Unrecognized request"),
        };
    }

    /// <summary>The rooms whose state has the bot's member event with membership join (<c>GET /joined_rooms</c>).</summary>
    public IReadOnlyList<string> JoinedRooms() => _rooms
        .Where(r =>
        {
            lock (r.Value)
            {
                return r.Value.TryGetValue(("m.room.member", Infrastructure.AppServiceApplication.BotUserId), out var bot)
                    && bot["content"]?["membership"]?.GetValue<string>() == "join";
            }
        })
        .Select(r => r.Key)
        .Order(StringComparer.Ordinal)
        .ToList();

    private static async Task WriteAsync(HttpContext http, StubAnswer answer)
    {
        http.Response.StatusCode = answer.Status;
        http.Response.ContentType = "application/json";
        foreach (var (name, value) in answer.Headers ?? new Dictionary<string, string>())
        {
            http.Response.Headers[name] = value;
        }

        await http.Response.WriteAsync(answer.Body);
    }
}
