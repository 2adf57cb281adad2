using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AppService.Admin;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Admin;

public sealed class AdminPagingAndDocsTests(SwaggerEnabledApplication app) : IClassFixture<SwaggerEnabledApplication>
{
    private async Task<List<MembersResponse>> MemberPagesAsync(string room, string query)
    {
        var pages = new List<MembersResponse>();
        string? from = null;
        do
        {
            string url = $"/admin/v1/rooms/{Uri.EscapeDataString(room)}/members?{query}" + (from is null ? "" : "&from=" + from);
            var page = (await app.Admin().GetFromJsonAsync<MembersResponse>(url))!;
            pages.Add(page);
            from = page.NextBatch;
        }
        while (from is not null && pages.Count < 10);
        return pages;
    }

    [Fact]
    public async Task Member_lists_are_paged_by_user_id_and_membership_join_is_who_is_in_the_room()
    {
        string room = NewRoomId();
        await app.PushOkAsync("page-m1",
            Member(room, "@a:test", "join"), Member(room, "@b:test", "join"), Member(room, "@c:test", "invite", sender: "@a:test"),
            Member(room, "@d:test", "join"), Member(room, "@e:test", "join"), Member(room, "@e:test", "leave"));

        var all = await MemberPagesAsync(room, "limit=2");
        Assert.Equal([2, 2, 1], all.Select(p => p.Members.Count));
        Assert.Equal(["@a:test", "@b:test", "@c:test", "@d:test", "@e:test"], all.SelectMany(p => p.Members).Select(m => m.UserId));
        Assert.Null(all[^1].NextBatch);

        var joined = await MemberPagesAsync(room, "limit=2&membership=join");
        Assert.Equal(["@a:test", "@b:test", "@d:test"], joined.SelectMany(p => p.Members).Select(m => m.UserId));

        var one = (await app.Admin().GetFromJsonAsync<MembersResponse>($"/admin/v1/rooms/{Uri.EscapeDataString(room)}/members"))!;
        Assert.Equal(5, one.Members.Count);
        Assert.Null(one.NextBatch);
    }

    [Fact]
    public async Task A_users_rooms_are_paged_by_room_id()
    {
        string[] rooms = [NewRoomId(), NewRoomId(), NewRoomId()];
        await app.PushOkAsync("page-u1", rooms.Select(r => Member(r, "@pager:test", "join")).ToArray());

        var first = (await app.Admin().GetFromJsonAsync<UserRoomsResponse>("/admin/v1/users/%40pager%3Atest/rooms?limit=2"))!;
        var second = (await app.Admin().GetFromJsonAsync<UserRoomsResponse>($"/admin/v1/users/%40pager%3Atest/rooms?limit=2&from={first.NextBatch}"))!;

        Assert.Equal(2, first.Rooms.Count);
        Assert.NotNull(first.NextBatch);
        Assert.Single(second.Rooms);
        Assert.Null(second.NextBatch);
        Assert.Equal(rooms.Order(StringComparer.Ordinal), first.Rooms.Concat(second.Rooms).Select(r => r.RoomId));
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=1001")]
    [InlineData("from=not-a-token!")]
    [InlineData("from=IXJvb206dGVzdA")] // a room token ("!room:test"), not a user one
    [InlineData("membership=joined")]
    public async Task Bad_paging_parameters_are_400(string query)
    {
        string room = NewRoomId();
        await app.PushOkAsync("page-bad-" + Guid.NewGuid().ToString("N")[..8], Member(room, Alice, "join"));

        using var response = await app.Admin().GetAsync($"/admin/v1/rooms/{Uri.EscapeDataString(room)}/members?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Stats_report_a_large_table_by_its_estimate_and_name_it_unless_exact_is_asked()
    {
        await app.PushOkAsync("stats-est-1", Member(NewRoomId(), Alice, "join"));
        long exactCount = await app.ScalarAsync("SELECT count(*) FROM processed_events");

        // The planner's estimate of processed_events says 250,000 rows (as after an ANALYZE of a large table).
        await app.ExecuteSqlAsync("UPDATE pg_class SET reltuples = 250000 WHERE oid = 'processed_events'::regclass");
        var estimated = await app.StatsAsync();
        var exact = (await app.Admin().GetFromJsonAsync<StatsResponse>("/admin/v1/stats?exact=true"))!;

        Assert.Equal(250000, estimated.EventsProcessed);
        Assert.Equal(["events_processed"], estimated.Estimated);
        Assert.Equal(exactCount, exact.EventsProcessed);
        Assert.Empty(exact.Estimated);
        await app.ExecuteSqlAsync("ANALYZE processed_events");
    }

    [Fact]
    public async Task Swagger_explains_parameters_with_descriptions_examples_and_allowed_values()
    {
        var document = JsonDocument.Parse(await app.CreateClient().GetStringAsync("/swagger/v1/swagger.json")).RootElement;
        JsonElement Parameter(string path, string method, string name) =>
            document.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("parameters").EnumerateArray()
                .Single(p => p.GetProperty("name").GetString() == name);

        var roomId = Parameter("/admin/v1/rooms/{roomId}/members", "get", "roomId");
        Assert.StartsWith("!", roomId.GetProperty("example").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(roomId.GetProperty("description").GetString()));
        Assert.StartsWith("@", Parameter("/admin/v1/users/{userId}/rooms", "get", "userId").GetProperty("example").GetString(), StringComparison.Ordinal);
        string eventExample = Parameter("/admin/v1/events/{eventId}", "get", "eventId").GetProperty("example").GetString()!;
        Assert.Contains('/', eventExample);
        Assert.Contains('+', eventExample);

        var membership = Parameter("/admin/v1/rooms/{roomId}/members", "get", "membership");
        Assert.Equal("join", membership.GetProperty("example").GetString());
        Assert.Equal(["join", "invite", "leave", "ban", "knock"], membership.GetProperty("schema").GetProperty("enum").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(["open", "failed", "all"], Parameter("/admin/v1/jobs", "get", "state").GetProperty("schema").GetProperty("enum").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("from", Parameter("/admin/v1/rooms/{roomId}/members", "get", "from").GetProperty("name").GetString());
        Assert.Equal("from", Parameter("/admin/v1/users/{userId}/rooms", "get", "from").GetProperty("name").GetString());

        var member = document.GetProperty("components").GetProperty("schemas").GetProperty("MemberResponse").GetProperty("properties");
        Assert.Equal("@alice:example.org", member.GetProperty("user_id").GetProperty("example").GetString());
        Assert.Contains(".data/admin-token", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("description").GetString(), StringComparison.Ordinal);
    }
}
