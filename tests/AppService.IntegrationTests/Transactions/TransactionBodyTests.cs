using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Transactions;

public sealed class SmallBodyLimitApplication : AppServiceApplication
{
    public const int Limit = 1024 * 1024;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("AppService:MaxTransactionBytes", Limit.ToString(System.Globalization.CultureInfo.InvariantCulture))];
}

public sealed class TransactionBodyTests(SmallBodyLimitApplication app) : IClassFixture<SmallBodyLimitApplication>
{
    private async Task<(HttpStatusCode Status, string ErrCode)> PutRawAsync(string txnId, string body)
    {
        using var response = await app.Homeserver().PutAsync($"/_matrix/app/v1/transactions/{txnId}", new StringContent(body, Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.TryGetProperty("errcode", out var e) ? e.GetString()! : text);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("")]
    [InlineData("{\"events\": [")]
    public async Task A_body_that_is_not_json_is_400_M_NOT_JSON(string body) =>
        Assert.Equal((HttpStatusCode.BadRequest, "M_NOT_JSON"), await PutRawAsync("b1", body));

    [Fact]
    public async Task The_endpoint_logs_under_its_own_category_and_the_shipped_settings_keep_its_per_transaction_line_off()
    {
        Assert.Equal((HttpStatusCode.BadRequest, "M_NOT_JSON"), await PutRawAsync("log-refused", "not json"));
        Assert.Equal(HttpStatusCode.OK, (await PutRawAsync("log-ok", new JsonObject { ["events"] = new JsonArray(Member(NewRoomId(), Alice, "join")) }.ToJsonString())).Status);

        Assert.Contains(app.Logs.Lines, l => l.StartsWith("Warning AppService.Transactions.AppServiceApi: Transaction log-refused refused: M_NOT_JSON", StringComparison.Ordinal));
        // appsettings.json sets the endpoint's category to Warning: "Transaction log-ok: 1 new, ..." is not written.
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("Transaction log-ok:", StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("AppService.Transactions.TransactionProcessor: Transaction log-", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"events\": {}}")]
    [InlineData("{\"events\": null}")]
    [InlineData("[]")]
    public async Task A_body_without_an_events_array_is_400_M_BAD_JSON(string body) =>
        Assert.Equal((HttpStatusCode.BadRequest, "M_BAD_JSON"), await PutRawAsync("b2", body));

    [Fact]
    public async Task A_body_over_the_limit_is_413_M_TOO_LARGE_and_nothing_is_stored()
    {
        string room = NewRoomId();
        var events = Enumerable.Range(0, 20).Select(i => Message(room, Alice, new string('x', 60_000))).ToArray();
        using var response = await app.PushAsync("big-1", events);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("M_TOO_LARGE", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errcode").GetString());
        Assert.Null(await app.RoomAsync(room));
    }

    [Fact]
    public async Task Ephemeral_to_device_and_unknown_keys_are_accepted_alongside_events()
    {
        string room = NewRoomId();
        var body = new JsonObject
        {
            ["events"] = new JsonArray(Member(room, Alice, "join")),
            ["ephemeral"] = new JsonArray(new JsonObject { ["type"] = "m.typing", ["room_id"] = room, ["content"] = new JsonObject { ["user_ids"] = new JsonArray(Alice) } }),
            ["de.sorunome.msc2409.ephemeral"] = new JsonArray(new JsonObject { ["type"] = "m.typing", ["room_id"] = room, ["content"] = new JsonObject { ["user_ids"] = new JsonArray(Alice) } }),
            ["de.sorunome.msc2409.to_device"] = new JsonArray(new JsonObject { ["type"] = "m.room_key_request", ["to_user_id"] = "@_bot_x:test", ["to_device_id"] = "D", ["content"] = new JsonObject() }),
            ["org.matrix.msc3202.device_lists"] = new JsonObject { ["changed"] = new JsonArray(), ["left"] = new JsonArray() },
            ["org.matrix.msc3202.device_one_time_keys_count"] = new JsonObject(),
            ["com.example.unknown"] = 42,
        };

        Assert.Equal((HttpStatusCode.OK, "{}"), await PutRawAsync("eph-1", body.ToJsonString()));
        Assert.Equal("join", (await app.MemberAsync(room, Alice))!.Membership);
    }
}
