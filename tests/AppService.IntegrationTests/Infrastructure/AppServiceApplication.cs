using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AppService.Admin;
using AppService.Data;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AppService.IntegrationTests.Infrastructure;

/// <summary>
/// The service under test, in process, on its own PostgreSQL database created from the migrations. Tests drive it
/// over HTTP through the intent methods below, as the homeserver and an operator would.
/// </summary>
public class AppServiceApplication : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const string HsToken = "hs_test_token_4f1b2c3d5e6f708192a3b4c5d6e7f8091";
    public const string AsToken = "as_test_token_0a1b2c3d4e5f60718293a4b5c6d7e8f90";
    public const string AdminToken = "admin_test_token_93b8c7d6e5f4a3b2c1d0";
    public const string ServerName = "test";
    public const string BotUserId = "@bot:test";

    private readonly string _registrationPath = Path.Combine(Path.GetTempPath(), $"registration-{Guid.NewGuid():N}.yaml");
    private PostgresServer? _postgres;

    public string DatabaseName { get; } = "appservice_test_" + Guid.NewGuid().ToString("N")[..16];

    public string ConnectionString { get; private set; } = "";

    public CapturedLogs Logs { get; } = new();

    /// <summary>The tokens written to the registration file (a derived fixture may write placeholders).</summary>
    protected virtual (string As, string Hs) RegistrationTokens => (AsToken, HsToken);

    /// <summary>Extra configuration for a derived fixture (e.g. a smaller body limit).</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> Settings => [];

    public async Task InitializeAsync()
    {
        _postgres = await PostgresServer.GetAsync();
        ConnectionString = await CreateDatabaseAsync(_postgres);
        await File.WriteAllTextAsync(_registrationPath, $"""
            id: test-appservice
            url: http://127.0.0.1:9000
            as_token: {RegistrationTokens.As}
            hs_token: {RegistrationTokens.Hs}
            sender_localpart: bot
            rate_limited: false
            namespaces:
              users:
                - exclusive: true
                  regex: '^@_bot_.*:test$'
              aliases: []
              rooms: []
            protocols: [irc]
            """);

        // Starts the host: migrations are applied before it serves.
        Start();
    }

    /// <summary>Starts the host (the in-process TestServer; a derived fixture may start Kestrel instead).</summary>
    protected virtual void Start() => _ = Server;

    protected virtual Task<string> CreateDatabaseAsync(PostgresServer postgres) => postgres.CreateDatabaseAsync(DatabaseName);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("ConnectionStrings:AppService", ConnectionString);
        builder.UseSetting("AppService:RegistrationFile", _registrationPath);
        builder.UseSetting("AppService:ServerName", ServerName);
        builder.UseSetting("AppService:AdminToken", AdminToken);
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Trace);
            logging.AddProvider(Logs);
        });
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        File.Delete(_registrationPath);
        if (_postgres is not null)
        {
            await _postgres.DropDatabaseAsync(DatabaseName);
        }
    }

    /// <summary>A client without credentials: in process, or over loopback where a derived fixture serves with Kestrel.</summary>
    public virtual HttpClient Client() => CreateClient();

    /// <summary>A client that authenticates as the homeserver.</summary>
    public HttpClient Homeserver()
    {
        var client = Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", HsToken);
        return client;
    }

    /// <summary>A client that authenticates as an operator of the admin API.</summary>
    public HttpClient Admin()
    {
        var client = Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        return client;
    }

    /// <summary>The path of <c>PUT /_matrix/app/v1/transactions/{txnId}</c>.</summary>
    public static string TransactionPath(string txnId) => $"/_matrix/app/v1/transactions/{Uri.EscapeDataString(txnId)}";

    /// <summary>A transaction body's JSON text holding <paramref name="events"/>.</summary>
    public static string BodyJson(params JsonObject[] events) =>
        new JsonObject { ["events"] = new JsonArray(events.Select(e => (JsonNode)e.DeepClone()).ToArray()) }.ToJsonString();

    public static StringContent Body(params JsonObject[] events) => new(BodyJson(events), Encoding.UTF8, "application/json");

    /// <summary>Exactly these bytes as an <c>application/json</c> body.</summary>
    public static ByteArrayContent JsonBytes(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    /// <summary>Sends a transaction as Synapse does and returns the response.</summary>
    public Task<HttpResponseMessage> PushAsync(string txnId, params JsonObject[] events) =>
        Homeserver().PutAsync(TransactionPath(txnId), Body(events));

    /// <summary>Sends a transaction body as exactly these bytes and returns the answer's status and text.</summary>
    public async Task<(HttpStatusCode Status, string Text)> PutRawAsync(string txnId, byte[] body)
    {
        using var client = Homeserver();
        using var content = JsonBytes(body);
        using var response = await client.PutAsync(TransactionPath(txnId), content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Sends a transaction body as the UTF-8 bytes of this text.</summary>
    public Task<(HttpStatusCode Status, string Text)> PutRawAsync(string txnId, string json) => PutRawAsync(txnId, Encoding.UTF8.GetBytes(json));

    /// <summary>Sends a transaction and asserts the exact success answer: 200 with the body <c>{}</c>.</summary>
    public async Task PushOkAsync(string txnId, params JsonObject[] events)
    {
        using var response = await PushAsync(txnId, events);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.OK, $"txn {txnId}: {(int)response.StatusCode} {body}");
        Assert.Equal("{}", body);
    }

    public async Task<RoomInfoResponse?> RoomAsync(string roomId)
    {
        using var response = await Admin().GetAsync($"/admin/v1/rooms/{Uri.EscapeDataString(roomId)}");
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<RoomInfoResponse>();
    }

    public async Task<IReadOnlyList<MemberResponse>> MembersAsync(string roomId, string? membership = null)
    {
        string query = membership is null ? "?limit=1000" : $"?limit=1000&membership={membership}";
        var result = await Admin().GetFromJsonAsync<MembersResponse>($"/admin/v1/rooms/{Uri.EscapeDataString(roomId)}/members{query}");
        return result!.Members;
    }

    public async Task<MemberResponse?> MemberAsync(string roomId, string userId) =>
        (await MembersAsync(roomId)).SingleOrDefault(m => m.UserId == userId);

    /// <summary>One page of <c>GET /admin/v1/rejected-events?{query}</c>.</summary>
    public async Task<IReadOnlyList<RejectedEventResponse>> RejectedEventsAsync(string query)
    {
        var page = await Admin().GetFromJsonAsync<RejectedEventsPage>($"/admin/v1/rejected-events?{query}");
        return page!.RejectedEvents;
    }

    public async Task<StatsResponse> StatsAsync() => (await Admin().GetFromJsonAsync<StatsResponse>("/admin/v1/stats"))!;

    public AppDbContext CreateDbContext() =>
        new(new DbContextOptionsBuilder<AppDbContext>().UseNpgsql(ConnectionString).Options);

    public async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Whether <paramref name="eventId"/> is in processed_events (applied).</summary>
    public async Task<bool> IsProcessedAsync(string eventId) =>
        await QueryAsync<long>("SELECT count(*) FROM processed_events WHERE event_id = $1", eventId) == 1;

    /// <summary>Whether <paramref name="eventId"/> is in rejected_events (quarantined).</summary>
    public async Task<bool> IsRejectedAsync(string eventId) =>
        await QueryAsync<long>("SELECT count(*) FROM rejected_events WHERE event_id = $1", eventId) == 1;

    /// <summary>The first column of the first row of <paramref name="sql"/> with positional parameters ($1, $2...); default when none or NULL.</summary>
    public async Task<T?> QueryAsync<T>(string sql, params object[] args)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (object arg in args)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = arg });
        }

        object? value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)value;
    }

    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
