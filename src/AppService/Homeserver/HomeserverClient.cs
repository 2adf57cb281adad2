using System.Text;
using System.Text.Json;
using AppService.Matrix;
using AppService.Projections;

namespace AppService.Homeserver;

/// <summary>
/// The client-server API calls the appservice makes, as its bot (no <c>?user_id=</c> identity assertion: nothing
/// acts as a namespaced user). The <c>as_token</c> travels in the Authorization header set by the
/// registration in <see cref="Hosting.AppServiceSetup"/>, never in a URL, so it cannot end up in a request log.
/// Timeouts, retries of idempotent calls, the circuit breaker and 429 waits come from the resilience pipeline
/// (<see cref="HomeserverResilience"/>); a call that still fails throws <see cref="MatrixApiException"/>.
/// </summary>
public sealed class HomeserverClient(HttpClient http, TimeProvider time)
{
    /// <summary><c>POST /rooms/{roomId}/join</c>. Not retried inside the call (POST); the job's backoff retries it.</summary>
    public async Task JoinRoomAsync(string roomId, CancellationToken cancellationToken)
    {
        using var body = new StringContent("{}", Encoding.UTF8, "application/json");
        _ = await SendAsync(HttpMethod.Post, $"_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/join", body, cancellationToken);
    }

    /// <summary><c>GET /rooms/{roomId}/members</c>: every member event of the current state (all memberships).</summary>
    public async Task<StateSnapshot> GetMembersAsync(string roomId, CancellationToken cancellationToken) =>
        Snapshots.ParseMembers(await GetAsync($"_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/members", cancellationToken), roomId);

    /// <summary><c>GET /rooms/{roomId}/state</c>: the room's current state events.</summary>
    public async Task<StateSnapshot> GetStateAsync(string roomId, CancellationToken cancellationToken) =>
        Snapshots.ParseState(await GetAsync($"_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/state", cancellationToken), roomId);

    /// <summary><c>GET /rooms/{roomId}/joined_members</c>: the joined users and their profiles.</summary>
    public async Task<IReadOnlyDictionary<string, JoinedMember>> GetJoinedMembersAsync(string roomId, CancellationToken cancellationToken) =>
        Snapshots.ParseJoinedMembers(await GetAsync($"_matrix/client/v3/rooms/{Uri.EscapeDataString(roomId)}/joined_members", cancellationToken));

    /// <summary>
    /// <c>GET /joined_rooms</c>: the rooms the bot is joined to, by the homeserver's current state. Decides the bot's
    /// membership where the projection's could be made up by a backlog (a resync of a room we think the bot is not in,
    /// the drift check's membership comparison).
    /// </summary>
    public async Task<IReadOnlySet<string>> GetJoinedRoomsAsync(CancellationToken cancellationToken) =>
        Snapshots.ParseJoinedRooms(await GetAsync("_matrix/client/v3/joined_rooms", cancellationToken));

    private Task<JsonElement> GetAsync(string path, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, path, null, cancellationToken);

    private async Task<JsonElement> SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        if (http.BaseAddress is null)
        {
            throw new HomeserverNotConfiguredException();
        }

        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await MatrixApiException.FromResponseAsync(response, time.GetUtcNow(), cancellationToken);
        }

        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            // No depth limit: a deeply nested entry is skipped by the snapshot readers, not a reason to fail the job forever.
            using var document = await JsonDocument.ParseAsync(stream, new JsonDocumentOptions { MaxDepth = int.MaxValue }, cancellationToken);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new MatrixApiException((int)response.StatusCode, MatrixError.Codes.NotJson, $"The homeserver's answer to {method} {path} is not JSON", null);
        }
    }
}
