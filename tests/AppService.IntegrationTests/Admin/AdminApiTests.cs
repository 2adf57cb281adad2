using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppService.Admin;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Admin;

public sealed class AdminApiTests(SwaggerEnabledApplication app) : IClassFixture<SwaggerEnabledApplication>
{
    [Fact]
    public async Task Events_with_room_v3_ids_containing_slash_and_plus_are_found_by_their_encoded_id()
    {
        string room = NewRoomId();
        var e = Member(room, Alice, "join");
        Assert.Contains('/', e.Id());
        Assert.Contains('+', e.Id());
        await app.PushOkAsync("v3-1", e);

        using var response = await app.Admin().GetAsync($"/admin/v1/events/{Uri.EscapeDataString(e.Id())}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, e.Id() + " " + await response.Content.ReadAsStringAsync());
        var found = await response.Content.ReadFromJsonAsync<EventResponse>();
        Assert.Equal((e.Id(), room, "v3-1"), (found!.EventId, found.RoomId, found.TxnId));

        var member = await app.MemberAsync(room, Alice);
        Assert.Equal(e.Id(), member!.EventId);
    }

    [Fact]
    public async Task Unknown_room_and_event_are_404_problem_details()
    {
        using var room = await app.Admin().GetAsync($"/admin/v1/rooms/{Uri.EscapeDataString("!nope:test")}");
        Assert.Equal(HttpStatusCode.NotFound, room.StatusCode);
        Assert.Equal("application/problem+json", room.Content.Headers.ContentType?.MediaType);
        using var members = await app.Admin().GetAsync($"/admin/v1/rooms/{Uri.EscapeDataString("!nope:test")}/members");
        Assert.Equal(HttpStatusCode.NotFound, members.StatusCode);
        using var e = await app.Admin().GetAsync($"/admin/v1/events/{Uri.EscapeDataString("$no/such+event")}");
        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
        Assert.Equal("application/problem+json", e.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/admin/v1/rooms")]
    [InlineData("/admin/v1/stats")]
    [InlineData("/admin/v1/rooms/%21x%3Atest")]
    [InlineData("/admin/v1/users/%40x%3Atest/rooms")]
    public async Task Admin_routes_without_the_admin_token_are_401_problem_details(string path)
    {
        using var none = await app.CreateClient().GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("application/problem+json", none.Content.Headers.ContentType?.MediaType);

        var hs = app.Homeserver();
        using var wrong = await hs.GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }

    [Fact]
    public async Task A_wrong_admin_token_is_told_apart_from_a_missing_one_without_being_echoed()
    {
        const string wrongToken = "not-the-admin-token-0123456789";
        using var none = await app.CreateClient().GetAsync("/admin/v1/stats");
        var wrongClient = app.CreateClient();
        wrongClient.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", wrongToken);
        using var wrong = await wrongClient.GetAsync("/admin/v1/stats");
        var basicClient = app.CreateClient();
        basicClient.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", "YWRtaW46YWRtaW4=");
        using var basic = await basicClient.GetAsync("/admin/v1/stats");

        string noneDetail = (await none.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;
        string wrongBody = await wrong.Content.ReadAsStringAsync();
        string wrongDetail = JsonDocument.Parse(wrongBody).RootElement.GetProperty("detail").GetString()!;
        string basicDetail = (await basic.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;

        Assert.All([none, wrong, basic], r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
        Assert.Contains("No Authorization header", noneDetail, StringComparison.Ordinal);
        Assert.Contains("is not AppService:AdminToken", wrongDetail, StringComparison.Ordinal);
        Assert.Contains("not a bearer token", basicDetail, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongToken, wrongBody, StringComparison.Ordinal);
        Assert.Equal("Bearer error=\"invalid_token\"", wrong.Headers.WwwAuthenticate.ToString());
        Assert.Equal("Bearer", none.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task A_bad_membership_filter_or_limit_is_a_validation_problem()
    {
        using var filter = await app.Admin().GetAsync($"/admin/v1/users/{Uri.EscapeDataString(Alice)}/rooms?membership=joined");
        Assert.Equal(HttpStatusCode.BadRequest, filter.StatusCode);
        Assert.Contains("membership", await filter.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var limit = await app.Admin().GetAsync("/admin/v1/rooms?limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, limit.StatusCode);
        using var from = await app.Admin().GetAsync("/admin/v1/rooms?from=garbage!");
        Assert.Equal(HttpStatusCode.BadRequest, from.StatusCode);
    }

    [Fact]
    public async Task Rooms_are_listed_a_page_at_a_time_until_next_batch_is_null()
    {
        var rooms = Enumerable.Range(0, 5).Select(_ => NewRoomId()).ToList();
        await app.PushOkAsync("pages-1", rooms.Select(r => State(r, "m.room.name", new JsonObject { ["name"] = r })).ToArray());

        var seen = new List<string>();
        string? from = null;
        int pages = 0;
        do
        {
            var page = await app.Admin().GetFromJsonAsync<RoomsPage>($"/admin/v1/rooms?limit=2{(from is null ? "" : "&from=" + from)}");
            seen.AddRange(page!.Rooms.Select(r => r.RoomId));
            from = page.NextBatch;
            pages++;
        }
        while (from is not null && pages < 100);

        Assert.Equal(seen.Order(StringComparer.Ordinal), seen);
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Subset(seen.ToHashSet(), rooms.ToHashSet());
    }

    [Fact]
    public async Task Member_list_filters_by_membership_and_lists_every_row_without_a_filter()
    {
        string room = NewRoomId();
        await app.PushOkAsync("filter-1", Member(room, Alice, "join"), Member(room, Bob, "invite", sender: Alice), Member(room, Carol, "ban", sender: Alice));

        Assert.Equal(3, (await app.MembersAsync(room)).Count);
        Assert.Equal([Bob], (await app.MembersAsync(room, "invite")).Select(m => m.UserId));
        Assert.Empty(await app.MembersAsync(room, "knock"));
        string raw = await app.Admin().GetStringAsync($"/admin/v1/rooms/{Uri.EscapeDataString(room)}/members?membership=join");
        var member = JsonDocument.Parse(raw).RootElement.GetProperty("members")[0];
        Assert.Equal(["user_id", "membership", "displayname", "avatar_url", "event_id", "sender", "updated_at"], member.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Stats_count_what_was_processed_rejected_and_projected()
    {
        var before = await app.StatsAsync();
        string room = NewRoomId();
        var poison = Message(room, Alice, "x");
        poison.Remove("event_id");
        await app.PushOkAsync("stats-1", Member(room, Alice, "join"), Message(room, Alice, "hello"), poison);

        var after = await app.StatsAsync();
        Assert.Equal(before.EventsProcessed + 2, after.EventsProcessed);
        Assert.Equal(before.EventsRejected + 1, after.EventsRejected);
        Assert.Equal(before.Transactions + 1, after.Transactions);
        Assert.Equal(before.Rooms + 1, after.Rooms);
        Assert.Equal(before.Members + 1, after.Members);
    }

    [Fact]
    public async Task Swagger_describes_every_admin_route_with_the_bearer_scheme_and_no_homeserver_route()
    {
        var document = JsonDocument.Parse(await app.CreateClient().GetStringAsync("/swagger/v1/swagger.json")).RootElement;
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/admin/v1/rooms", paths);
        Assert.Contains("/admin/v1/rooms/{roomId}", paths);
        Assert.Contains("/admin/v1/rooms/{roomId}/members", paths);
        Assert.Contains("/admin/v1/users/{userId}/rooms", paths);
        Assert.Contains("/admin/v1/events/{eventId}", paths);
        Assert.Contains("/admin/v1/stats", paths);
        Assert.DoesNotContain(paths, p => p.Contains("transactions", StringComparison.Ordinal) || p.StartsWith("/_matrix", StringComparison.Ordinal));
        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());
        var room = document.GetProperty("paths").GetProperty("/admin/v1/rooms/{roomId}").GetProperty("get").GetProperty("responses");
        Assert.True(room.TryGetProperty("200", out _) && room.TryGetProperty("404", out _) && room.TryGetProperty("401", out _));
        using var ui = await app.CreateClient().GetAsync("/swagger/index.html");
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
    }
}
