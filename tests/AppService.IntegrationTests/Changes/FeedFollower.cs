using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppService.Admin;
using Npgsql;

namespace AppService.IntegrationTests.Changes;

/// <summary>
/// A consumer of GET /admin/v1/changes as docs/change-feed.md tells one to be: it keeps next_batch and nothing else,
/// and folds every change into its own copy of the projection.
/// </summary>
public sealed class FeedFollower
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public string? Token { get; private set; }

    public List<ChangeResponse> Seen { get; } = [];

    /// <summary>(room, user) → "membership|displayname|avatar_url|event_id".</summary>
    public SortedDictionary<string, string> Members { get; } = new(StringComparer.Ordinal);

    /// <summary>room → field → JSON value (null fields left out).</summary>
    public SortedDictionary<string, SortedDictionary<string, string>> Rooms { get; } = new(StringComparer.Ordinal);

    /// <summary>One request (on whichever replica the caller picks); returns how many changes it brought.</summary>
    public async Task<int> PollAsync(HttpClient admin, int timeoutMs = 0, int limit = 100)
    {
        string url = $"/admin/v1/changes?limit={limit}&timeout={timeoutMs}" + (Token is null ? "" : $"&from={Uri.EscapeDataString(Token)}");
        using var response = await admin.GetAsync(url);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {url}: {(int)response.StatusCode} {body}");
        var page = JsonSerializer.Deserialize<ChangesResponse>(body)!;
        foreach (var change in page.Changes)
        {
            Fold(change);
        }

        Token = page.NextBatch;
        return page.Changes.Count;
    }

    /// <summary>Polls until <paramref name="done"/> holds, failing after <see cref="Patience"/> with <paramref name="what"/>.</summary>
    public async Task UntilAsync(Func<HttpClient> admin, Func<bool> done, Func<string> what)
    {
        var deadline = DateTimeOffset.UtcNow + Patience;
        while (!done())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"The feed never delivered what was expected: {what()}");
            await PollAsync(admin(), timeoutMs: 500);
        }
    }

    private void Fold(ChangeResponse change)
    {
        Seen.Add(change);
        if (change.Kind == "member")
        {
            string key = $"{change.RoomId}|{change.UserId}";
            if (change.Membership is null)
            {
                Members.Remove(key);
            }
            else
            {
                Members[key] = $"{change.Membership}|{change.DisplayName}|{change.AvatarUrl}|{change.EventId}";
            }

            return;
        }

        if (!Rooms.TryGetValue(change.RoomId, out var fields))
        {
            Rooms[change.RoomId] = fields = new SortedDictionary<string, string>(StringComparer.Ordinal);
        }

        foreach (var (name, value) in JsonNode.Parse(change.Changed!.Value.GetRawText())!.AsObject())
        {
            if (value is null)
            {
                fields.Remove(name);
            }
            else
            {
                fields[name] = value.ToJsonString();
            }
        }
    }

    /// <summary>The projection as stored, in the fold's shapes.</summary>
    public static async Task<(SortedDictionary<string, string> Members, SortedDictionary<string, SortedDictionary<string, string>> Rooms)> ProjectionAsync(
        string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var members = new SortedDictionary<string, string>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand("SELECT room_id, user_id, membership, displayname, avatar_url, event_id FROM room_members", connection))
        await using (var r = await command.ExecuteReaderAsync())
        {
            while (await r.ReadAsync())
            {
                members[$"{r.GetString(0)}|{r.GetString(1)}"] = $"{r.GetString(2)}|{(r.IsDBNull(3) ? "" : r.GetString(3))}|{(r.IsDBNull(4) ? "" : r.GetString(4))}|{r.GetString(5)}";
            }
        }

        var rooms = new SortedDictionary<string, SortedDictionary<string, string>>(StringComparer.Ordinal);
        const string sql = """
            SELECT room_id, json_strip_nulls(json_build_object(
                'name', name, 'topic', topic, 'canonical_alias', canonical_alias, 'avatar_url', avatar_url, 'join_rule', join_rule,
                'history_visibility', history_visibility, 'encryption', encryption, 'room_version', room_version,
                'creators', creators, 'tombstone_successor', tombstone_successor, 'bot_membership', bot_membership))::text
            FROM rooms
            """;
        await using (var command = new NpgsqlCommand(sql, connection))
        await using (var r = await command.ExecuteReaderAsync())
        {
            while (await r.ReadAsync())
            {
                var fields = new SortedDictionary<string, string>(StringComparer.Ordinal);
                foreach (var (name, value) in JsonNode.Parse(r.GetString(1))!.AsObject())
                {
                    fields[name] = value!.ToJsonString();
                }

                rooms[r.GetString(0)] = fields;
            }
        }

        return (members, rooms);
    }

    /// <summary>The fold, in the projection's shapes (a null display name reads as empty).</summary>
    public string MembersText() => string.Join("\n", Members.Select(m => $"{m.Key} = {m.Value}"));

    public string RoomsText() => string.Join("\n", Rooms.Select(r => $"{r.Key} = {string.Join(",", r.Value.Select(f => $"{f.Key}:{f.Value}"))}"));

    public static string Text(SortedDictionary<string, string> members) => string.Join("\n", members.Select(m => $"{m.Key} = {m.Value}"));

    public static string Text(SortedDictionary<string, SortedDictionary<string, string>> rooms) =>
        string.Join("\n", rooms.Select(r => $"{r.Key} = {string.Join(",", r.Value.Select(f => $"{f.Key}:{f.Value}"))}"));
}
