using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AppService.IntegrationTests.Infrastructure;

namespace AppService.IntegrationTests.Projections;

/// <summary>The bot is @bot:localhost in the captures.</summary>
public sealed class LocalhostApplication : AppServiceApplication
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("AppService:ServerName", "localhost")];
}

/// <summary>
/// Replays, request by request, what a real Synapse sent to an appservice in a scripted scenario (see
/// Captures/README.md), with the captured method, path, query and headers, and checks the projection it leaves.
/// Each scenario runs on its own database: both number their transactions from 1.
/// </summary>
public abstract class CaptureReplay(LocalhostApplication app)
{
    protected LocalhostApplication App { get; } = app;

    protected async Task<List<(string Path, HttpStatusCode Status, string Body)>> ReplayAsync(string file)
    {
        var results = new List<(string, HttpStatusCode, string)>();
        foreach (string line in await File.ReadAllLinesAsync(Path.Combine(AppContext.BaseDirectory, "Captures", file)))
        {
            using var capture = JsonDocument.Parse(line);
            var root = capture.RootElement;
            string query = string.Join('&', root.GetProperty("query").EnumerateObject()
                .Select(p => $"{p.Name}={Uri.EscapeDataString(Substitute(p.Value.GetString()!))}"));
            string path = root.GetProperty("path").GetString()!;
            using var request = new HttpRequestMessage(new HttpMethod(root.GetProperty("method").GetString()!), query.Length > 0 ? $"{path}?{query}" : path);
            if (root.TryGetProperty("body", out var body) && body.ValueKind == JsonValueKind.Object)
            {
                request.Content = new StringContent(body.GetRawText(), Encoding.UTF8, "application/json");
            }

            foreach (var header in root.GetProperty("headers").EnumerateObject())
            {
                if (header.Name is not "Content-Type")
                {
                    request.Headers.TryAddWithoutValidation(header.Name, Substitute(header.Value.GetString()!));
                }
            }

            using var response = await App.CreateClient().SendAsync(request);
            results.Add((path, response.StatusCode, await response.Content.ReadAsStringAsync()));
        }

        return results;
    }

    private static string Substitute(string value) => value.Replace("<hs_token>", AppServiceApplication.HsToken, StringComparison.Ordinal);

    protected async Task AssertScenarioProjectionAsync(string roomId, string dmRoomId)
    {
        var app = App;
        var room = await app.RoomAsync(roomId);
        Assert.NotNull(room);
        Assert.Equal("Renamed Room", room.Name);
        Assert.Equal("second topic", room.Topic);
        Assert.Equal("join", room.BotMembership);

        // The kick purged the member rows; what came after the bot's re-join is what the projection holds
        // until a resync fetches the rest from the homeserver.
        var members = (await app.MembersAsync(roomId)).ToDictionary(m => m.UserId);
        Assert.Equal(["@bob:localhost", "@bot:localhost", "@bridge_carol:localhost"], members.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("join", members["@bot:localhost"].Membership);
        Assert.Equal("join", members["@bridge_carol:localhost"].Membership);
        Assert.Equal("bridge_carol", members["@bridge_carol:localhost"].DisplayName);
        Assert.Equal("leave", members["@bob:localhost"].Membership);
        Assert.Equal("@bob:localhost", members["@bob:localhost"].Sender);
        Assert.Equal(2, room.JoinedMemberCount);
        Assert.Equal(0, room.InvitedMemberCount);

        var dm = (await app.MembersAsync(dmRoomId)).Single();
        Assert.Equal(("@bridge_dave:localhost", "invite", "@alice:localhost"), (dm.UserId, dm.Membership, dm.Sender));
        Assert.Null((await app.RoomAsync(dmRoomId))!.BotMembership);
    }
}

public sealed class Synapse194CaptureReplayTests(LocalhostApplication app) : CaptureReplay(app), IClassFixture<LocalhostApplication>
{
    [Fact]
    public async Task Synapse_1_94_capture_is_acknowledged_and_projected()
    {
        var results = await ReplayAsync("synapse-1.94-scenario.jsonl");

        Assert.All(results.Where(r => r.Path.Contains("/transactions/", StringComparison.Ordinal)), r =>
        {
            Assert.Equal(HttpStatusCode.OK, r.Status);
            Assert.Equal("{}", r.Body);
        });
        var userQuery = Assert.Single(results, r => r.Path.Contains("/users/", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.NotFound, userQuery.Status);

        await AssertScenarioProjectionAsync("!VhVtjZjydbMbtsoRIt:localhost", "!ADPOGrQxrofnInUEEz:localhost");
        var redaction = await App.Admin().GetFromJsonAsync<AppService.Admin.EventResponse>(
            "/admin/v1/events/" + Uri.EscapeDataString("$qJsnOIRyaoW0oy7f2Vs-tb5F9fZHqifDCceutRWKqwA"));
        Assert.Equal("14", redaction!.TxnId);
        Assert.Equal(19, (await App.StatsAsync()).EventsProcessed);
    }
}

public sealed class Synapse167CaptureReplayTests(LocalhostApplication app) : CaptureReplay(app), IClassFixture<LocalhostApplication>
{
    [Fact]
    public async Task Synapse_1_67_legacy_capture_with_retries_is_acknowledged_and_projected_once()
    {
        var results = await ReplayAsync("synapse-1.67-legacy-scenario.jsonl");

        Assert.All(results.Where(r => r.Path.StartsWith("/transactions/", StringComparison.Ordinal)), r => Assert.Equal(HttpStatusCode.OK, r.Status));
        await AssertScenarioProjectionAsync("!HkUFqaqbOVeDfWHatt:localhost", "!bJYBSOKFWORNpUriOb:localhost");

        // Transaction 15 was sent eight times during an outage: its event was processed once, by that txnId.
        await using var db = App.CreateDbContext();
        var retried = db.ProcessedEvents.Where(e => e.TxnId == "15").ToList();
        Assert.Equal("$dWxRFRcDOT1", Assert.Single(retried).EventId[..12]);
        Assert.Equal(19, db.Ledger.Count(l => !l.TxnId.StartsWith("sha256:")));
    }
}
