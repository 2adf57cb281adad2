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

    /// <summary>Extra configuration for a derived fixture (e.g. a smaller body limit).</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> Settings => [];

    public async Task InitializeAsync()
    {
        _postgres = await PostgresServer.GetAsync();
        ConnectionString = await CreateDatabaseAsync(_postgres);
        await File.WriteAllTextAsync(_registrationPath, $"""
            id: test-appservice
            url: http://127.0.0.1:9000
            as_token: {AsToken}
            hs_token: {HsToken}
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

    public static StringContent Body(params JsonObject[] events) =>
        new(new JsonObject { ["events"] = new JsonArray(events.Select(e => (JsonNode)e.DeepClone()).ToArray()) }.ToJsonString(),
            Encoding.UTF8, "application/json");

    /// <summary>Sends a transaction as Synapse does and returns the response.</summary>
    public Task<HttpResponseMessage> PushAsync(string txnId, params JsonObject[] events) =>
        Homeserver().PutAsync($"/_matrix/app/v1/transactions/{Uri.EscapeDataString(txnId)}", Body(events));

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

    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
