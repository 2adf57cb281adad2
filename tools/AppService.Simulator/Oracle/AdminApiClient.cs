using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace AppService.Simulator.Oracle;

internal sealed record ActualRoom(
    string RoomId,
    IReadOnlyDictionary<string, string?> Fields,
    int? JoinedMemberCount,
    int? InvitedMemberCount,
    IReadOnlyList<string> MissingFields)
{
    /// <summary><c>suspect</c>: the service knows its projection of the room may be wrong (a resync is due).</summary>
    public bool? Suspect { get; init; }
}

/// <summary>A job of <c>GET /admin/v1/jobs</c>.</summary>
internal sealed record ActualJob(long Id, string? Kind, string? RoomId, string? Reason, int Attempts, string? Outcome, string? LastError);

internal sealed record ActualMember(string UserId, string? Membership, string? Displayname, string? AvatarUrl, string? EventId);

internal sealed record ActualEvent(string? EventId, string? RoomId, string? TxnId);

/// <summary>One change of GET /admin/v1/changes: a member row as written, or the room fields that changed (JSON text of each value).</summary>
internal sealed record ActualChange(string Kind, string RoomId, ActualMember? Member, IReadOnlyDictionary<string, string?> Changed);

/// <summary>The service's admin API (snake_case JSON, bearer admin token, every path segment escaped).</summary>
internal sealed class AdminApiClient(HttpClient http, Uri baseUrl, string adminToken)
{
    /// <summary>The nullable string fields of RoomInfo that the oracle compares.</summary>
    public static readonly string[] RoomStringFields =
    [
        "name", "topic", "canonical_alias", "avatar_url", "join_rule", "history_visibility", "encryption",
        "room_version", "creator", "room_type", "tombstone_successor", "bot_membership",
    ];

    private readonly AuthenticationHeaderValue _auth = new("Bearer", adminToken);

    public async Task<IReadOnlyList<string>> ListRoomIdsAsync(CancellationToken ct)
    {
        var ids = new List<string>();
        string? from = null;
        for (var page = 0; page < 100_000; page++)
        {
            var query = "admin/v1/rooms?limit=100" + (from is null ? "" : "&from=" + Uri.EscapeDataString(from));
            var (status, doc) = await GetAsync(query, ct);
            using (doc)
            {
                EnsureOk(status, query);
                foreach (var room in doc!.RootElement.GetProperty("rooms").EnumerateArray())
                {
                    ids.Add(room.GetProperty("room_id").GetString()!);
                }
                from = doc.RootElement.TryGetProperty("next_batch", out var next) && next.ValueKind == JsonValueKind.String
                    ? next.GetString()
                    : null;
            }
            if (from is null)
            {
                return ids;
            }
        }
        throw new InvalidOperationException("GET /admin/v1/rooms never ended (next_batch keeps coming)");
    }

    /// <summary>Null when the service answers 404.</summary>
    public async Task<ActualRoom?> GetRoomAsync(string roomId, CancellationToken ct)
    {
        var path = "admin/v1/rooms/" + Uri.EscapeDataString(roomId);
        var (status, doc) = await GetAsync(path, ct);
        using (doc)
        {
            if (status == HttpStatusCode.NotFound)
            {
                return null;
            }
            EnsureOk(status, path);
            var root = doc!.RootElement;
            var fields = new Dictionary<string, string?>(StringComparer.Ordinal);
            var missing = new List<string>();
            foreach (var name in RoomStringFields)
            {
                if (root.TryGetProperty(name, out var value))
                {
                    fields[name] = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
                }
                else
                {
                    missing.Add(name);
                }
            }
            return new ActualRoom(
                root.TryGetProperty("room_id", out var id) ? id.GetString() ?? "" : "",
                fields,
                Int(root, "joined_member_count", missing),
                Int(root, "invited_member_count", missing),
                missing)
            {
                Suspect = root.TryGetProperty("suspect", out var suspect) && suspect.ValueKind is JsonValueKind.True or JsonValueKind.False
                    ? suspect.GetBoolean()
                    : null,
            };
        }
    }

    /// <summary>
    /// Every change from the oldest kept, following next_batch; done when a long poll of a second finds nothing more
    /// (the feed hands a change out only once every transaction that started before it has ended).
    /// </summary>
    public async Task<IReadOnlyList<ActualChange>> GetAllChangesAsync(CancellationToken ct)
    {
        var changes = new List<ActualChange>();
        string? from = null;
        for (var page = 0; page < 1_000_000; page++)
        {
            var query = "admin/v1/changes?limit=1000&timeout=1000" + (from is null ? "" : "&from=" + Uri.EscapeDataString(from));
            var (status, doc) = await GetAsync(query, ct);
            using (doc)
            {
                EnsureOk(status, query);
                var list = doc!.RootElement.GetProperty("changes");
                foreach (var c in list.EnumerateArray())
                {
                    var changed = new Dictionary<string, string?>(StringComparer.Ordinal);
                    if (c.TryGetProperty("changed", out var fields) && fields.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var f in fields.EnumerateObject())
                        {
                            changed[f.Name] = f.Value.ValueKind == JsonValueKind.String ? f.Value.GetString() : f.Value.ValueKind == JsonValueKind.Null ? null : f.Value.GetRawText();
                        }
                    }
                    var kind = Str(c, "kind") ?? "";
                    var member = kind == "member"
                        ? new ActualMember(Str(c, "user_id") ?? "", Str(c, "membership"), Str(c, "displayname"), Str(c, "avatar_url"), Str(c, "event_id"))
                        : null;
                    changes.Add(new ActualChange(kind, Str(c, "room_id") ?? "", member, changed));
                }
                from = doc.RootElement.GetProperty("next_batch").GetString();
                if (list.GetArrayLength() == 0)
                {
                    return changes;
                }
            }
        }
        throw new InvalidOperationException("GET /admin/v1/changes never ended");
    }

    public async Task<IReadOnlyList<ActualMember>> GetMembersAsync(string roomId, string? membership, CancellationToken ct)
    {
        var path = "admin/v1/rooms/" + Uri.EscapeDataString(roomId) + "/members?limit=1000"
            + (membership is null ? "" : "&membership=" + Uri.EscapeDataString(membership));
        return await GetAllPagesAsync(path, "members", m => new ActualMember(
            Str(m, "user_id") ?? "", Str(m, "membership"), Str(m, "displayname"), Str(m, "avatar_url"), Str(m, "event_id")), ct);
    }

    public async Task<IReadOnlyList<(string RoomId, string? Membership)>> GetUserRoomsAsync(string userId, CancellationToken ct)
    {
        var path = "admin/v1/users/" + Uri.EscapeDataString(userId) + "/rooms?limit=1000";
        return await GetAllPagesAsync(path, "rooms", r => (Str(r, "room_id") ?? "", Str(r, "membership")), ct);
    }

    /// <summary>Every item of a paged list: follows <c>next_batch</c> (passed back as <c>from</c>) to the end.</summary>
    private async Task<IReadOnlyList<T>> GetAllPagesAsync<T>(string path, string property, Func<JsonElement, T> read, CancellationToken ct)
    {
        var items = new List<T>();
        string? from = null;
        for (var page = 0; page < 100_000; page++)
        {
            var query = path + (from is null ? "" : "&from=" + Uri.EscapeDataString(from));
            var (status, doc) = await GetAsync(query, ct);
            using (doc)
            {
                EnsureOk(status, query);
                items.AddRange(doc!.RootElement.GetProperty(property).EnumerateArray().Select(read));
                from = doc.RootElement.TryGetProperty("next_batch", out var next) && next.ValueKind == JsonValueKind.String
                    ? next.GetString()
                    : null;
            }
            if (from is null)
            {
                return items;
            }
        }
        throw new InvalidOperationException($"GET {path} never ended (next_batch keeps coming)");
    }

    /// <summary>Null when the service answers 404.</summary>
    public async Task<ActualEvent?> GetEventAsync(string eventId, CancellationToken ct)
    {
        var path = "admin/v1/events/" + Uri.EscapeDataString(eventId);
        var (status, doc) = await GetAsync(path, ct);
        using (doc)
        {
            if (status == HttpStatusCode.NotFound)
            {
                return null;
            }
            EnsureOk(status, path);
            var root = doc!.RootElement;
            return new ActualEvent(Str(root, "event_id"), Str(root, "room_id"), Str(root, "txn_id"));
        }
    }

    /// <summary>Every numeric field of <c>GET /admin/v1/stats</c>.</summary>
    public async Task<IReadOnlyDictionary<string, long>> GetStatsAsync(CancellationToken ct)
    {
        // exact=true: the oracle compares deltas, which the planner's estimates of large tables would not give.
        var (status, doc) = await GetAsync("admin/v1/stats?exact=true", ct);
        using (doc)
        {
            EnsureOk(status, "admin/v1/stats?exact=true");
            var stats = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var p in doc!.RootElement.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt64(out var n))
                {
                    stats[p.Name] = n;
                }
            }
            return stats;
        }
    }

    /// <summary>Jobs not completed yet (<c>GET /admin/v1/jobs?state=open</c>, of one room if given; newest first, at most 1000).</summary>
    public async Task<IReadOnlyList<ActualJob>> GetOpenJobsAsync(string? roomId, CancellationToken ct)
    {
        string path = "admin/v1/jobs?state=open&limit=1000" + (roomId is null ? "" : "&room_id=" + Uri.EscapeDataString(roomId));
        var (status, doc) = await GetAsync(path, ct);
        using (doc)
        {
            EnsureOk(status, path);
            return doc!.RootElement.GetProperty("jobs").EnumerateArray().Select(j => new ActualJob(
                j.TryGetProperty("id", out var id) && id.TryGetInt64(out var n) ? n : 0,
                Str(j, "kind"), Str(j, "room_id"), Str(j, "reason"),
                j.TryGetProperty("attempts", out var a) && a.TryGetInt32(out var at) ? at : 0,
                Str(j, "outcome"), Str(j, "last_error"))).ToList();
        }
    }

    /// <summary><c>POST /admin/v1/rooms/{roomId}/resync</c> as an operator; returns the status (202, 404, 409, ...).</summary>
    public async Task<HttpStatusCode> PostResyncAsync(string roomId, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUrl, "admin/v1/rooms/" + Uri.EscapeDataString(roomId) + "/resync"));
        request.Headers.Authorization = _auth;
        using var response = await http.SendAsync(request, ct);
        return response.StatusCode;
    }

    /// <summary>GET with a few retries on 5xx and connection errors (the service may be restarting).</summary>
    private async Task<(HttpStatusCode Status, JsonDocument? Body)> GetAsync(string relative, CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUrl, relative));
                request.Headers.Authorization = _auth;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(30));
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
                if ((int)response.StatusCode >= 500 && attempt < 5)
                {
                    await Task.Delay(delay, ct);
                    delay *= 2;
                    continue;
                }
                if (!response.IsSuccessStatusCode)
                {
                    return (response.StatusCode, null);
                }
                await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
                return (response.StatusCode, await JsonDocument.ParseAsync(stream, cancellationToken: timeout.Token));
            }
            catch (HttpRequestException) when (attempt < 5)
            {
                await Task.Delay(delay, ct);
                delay *= 2;
            }
        }
    }

    private static void EnsureOk(HttpStatusCode status, string path)
    {
        if (status != HttpStatusCode.OK)
        {
            throw new AdminApiException($"GET /{path} answered {(int)status} {status}");
        }
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? Int(JsonElement e, string name, List<string> missing)
    {
        if (e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number)
        {
            return v.GetInt32();
        }
        missing.Add(name);
        return null;
    }

    public static string Format(long n) => n.ToString(CultureInfo.InvariantCulture);
}

internal sealed class AdminApiException(string message) : Exception(message);
