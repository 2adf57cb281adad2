using System.Net;
using System.Net.Http.Json;
using AppService.Admin;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Matrix;

/// <summary>
/// Ids in paths (room v3 event ids hold '/' and '+'; txnIds, room and user ids may hold anything) are found by their
/// percent-encoded form on every route that takes one. The same tests run on the in-process test server (no raw
/// request target: RawPathIdFilter's fallback) and over real Kestrel (the raw target: its production branch).
/// </summary>
public abstract class PathIdTests(AppServiceApplication app)
{
    protected AppServiceApplication App => app;

    [Fact]
    public async Task An_event_id_with_slash_and_plus_is_found_by_its_encoded_id()
    {
        string room = NewRoomId();
        var e = Member(room, Alice, "join");
        Assert.Contains('/', e.Id());
        Assert.Contains('+', e.Id());
        string txn = "path-" + Guid.NewGuid().ToString("N");
        await app.PushOkAsync(txn, e);

        Assert.Equal((e.Id(), room, txn), await EventAsync(e.Id()));
    }

    [Fact]
    public async Task A_txn_id_with_slashes_is_recorded_as_sent()
    {
        string txn = "a/b+c/" + Guid.NewGuid().ToString("N");
        var e = Message(NewRoomId(), Alice, "hi");

        await app.PushOkAsync(txn, e);

        Assert.Equal(txn, (await EventAsync(e.Id()))?.TxnId);
    }

    [Fact]
    public async Task Room_and_user_ids_with_a_slash_are_found_on_the_routes_of_several_segments()
    {
        string room = $"!a/b{Guid.NewGuid():N}:test";
        string user = $"@u/v{Guid.NewGuid():N}:test";
        await app.PushOkAsync("path-" + Guid.NewGuid().ToString("N"), Member(room, user, "join"));

        Assert.Equal(room, (await app.RoomAsync(room))?.RoomId);
        Assert.Equal([user], (await app.MembersAsync(room)).Select(m => m.UserId));
        var rooms = await app.Admin().GetFromJsonAsync<UserRoomsResponse>($"/admin/v1/users/{Uri.EscapeDataString(user)}/rooms");
        Assert.Equal([(room, "join")], rooms!.Rooms.Select(r => (r.RoomId, r.Membership)));
    }

    protected async Task<(string EventId, string RoomId, string TxnId)?> EventAsync(string eventId)
    {
        using var response = await app.Admin().GetAsync($"/admin/v1/events/{Uri.EscapeDataString(eventId)}");
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{eventId}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var found = (await response.Content.ReadFromJsonAsync<EventResponse>())!;
        return (found.EventId, found.RoomId, found.TxnId);
    }
}

public sealed class PathIdsOnTheTestServerTests(AppServiceApplication app) : PathIdTests(app), IClassFixture<AppServiceApplication>;

/// <summary>
/// Over Kestrel the raw request target is present, so "%2F" (an id holding '/') and "%252F" (an id holding the three
/// characters "%2F") are told apart, which the test server cannot do.
/// </summary>
public sealed class PathIdsOverKestrelTests(KestrelApplication app) : PathIdTests(app), IClassFixture<KestrelApplication>
{
    [Fact]
    public async Task An_event_id_holding_a_literal_percent_2F_is_told_apart_from_one_holding_a_slash()
    {
        string room = NewRoomId();
        string stem = "$" + Guid.NewGuid().ToString("N");
        var literal = Message(room, Alice, "literal");
        literal["event_id"] = stem + "%2Fx%2fy";
        var slash = Message(room, Alice, "slash");
        slash["event_id"] = stem + "/x/y";

        await App.PushOkAsync("literal-" + Guid.NewGuid().ToString("N"), literal, slash);

        Assert.Equal(literal.Id(), (await EventAsync(literal.Id()))?.EventId);
        Assert.Equal(slash.Id(), (await EventAsync(slash.Id()))?.EventId);
        Assert.Null(await EventAsync(stem + "/x%2fy"));
    }

    [Fact]
    public async Task A_txn_id_holding_a_literal_percent_2F_is_a_different_transaction_from_one_holding_a_slash()
    {
        string stem = "t" + Guid.NewGuid().ToString("N");
        var first = Message(NewRoomId(), Alice, "first");
        var second = Message(NewRoomId(), Alice, "second");

        await App.PushOkAsync(stem + "%2Fu", first);
        await App.PushOkAsync(stem + "/u", second);

        Assert.Equal(stem + "%2Fu", (await EventAsync(first.Id()))?.TxnId);
        Assert.Equal(stem + "/u", (await EventAsync(second.Id()))?.TxnId);
    }

    [Fact]
    public async Task A_room_id_holding_a_literal_percent_2F_is_found_on_the_member_route()
    {
        string stem = "!r" + Guid.NewGuid().ToString("N");
        string literal = stem + "%2F:test", slash = stem + "/:test";
        await App.PushOkAsync("rooms-" + Guid.NewGuid().ToString("N"), Member(literal, Alice, "join"), Member(slash, Bob, "join"));

        Assert.Equal([Alice], (await App.MembersAsync(literal)).Select(m => m.UserId));
        Assert.Equal([Bob], (await App.MembersAsync(slash)).Select(m => m.UserId));
    }
}
