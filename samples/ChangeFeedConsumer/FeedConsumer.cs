using System.Net;
using System.Text.Json;

namespace ChangeFeedConsumer;

/// <summary>
/// Follows the service's change feed from a cursor kept in a file, prints one line per change, and resumes where it
/// stopped: the cursor is the position of the last change printed, written (atomically: a temporary file renamed over
/// it) right after the line, so a restart neither repeats nor misses a change. A crash between the two repeats that
/// one line; a consumer that must not repeat even then stores the cursor in the same transaction as its own effect.
/// </summary>
public sealed class FeedConsumer(HttpClient admin, string cursorPath, TextWriter output)
{
    /// <summary>What a run ended on.</summary>
    public enum Outcome
    {
        /// <summary>Printed as many changes as asked.</summary>
        Count,

        /// <summary>A poll came back empty and the caller asked to stop then.</summary>
        Idle,

        /// <summary>The cursor is older than what the service keeps: start again from a snapshot.</summary>
        Gone,

        Cancelled,
    }

    /// <param name="maxChanges">Stop after this many changes (null: never).</param>
    /// <param name="timeoutMs">The long poll's wait; the service waits at most 30 s.</param>
    /// <param name="stopWhenIdle">Stop when a poll answers no change.</param>
    public async Task<Outcome> RunAsync(int? maxChanges, int timeoutMs, bool stopWhenIdle, CancellationToken ct)
    {
        int printed = 0;
        while (!ct.IsCancellationRequested)
        {
            string? cursor = File.Exists(cursorPath) ? (await File.ReadAllTextAsync(cursorPath, ct)).Trim() : null;
            string url = $"admin/v1/changes?timeout={timeoutMs}&limit=100" + (string.IsNullOrEmpty(cursor) ? "" : $"&from={Uri.EscapeDataString(cursor)}");
            using var response = await admin.GetAsync(url, ct);
            if (response.StatusCode == HttpStatusCode.Gone)
            {
                await Console.Error.WriteLineAsync($"cursor {cursor} is too old: {await response.Content.ReadAsStringAsync(ct)}");
                return Outcome.Gone;
            }

            response.EnsureSuccessStatusCode();
            using var page = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(ct));
            var changes = page.RootElement.GetProperty("changes");
            foreach (var change in changes.EnumerateArray())
            {
                await output.WriteLineAsync(Describe(change));
                await output.FlushAsync(ct);
                await SaveCursorAsync(change.GetProperty("position").GetString()!, ct);
                if (++printed == maxChanges)
                {
                    return Outcome.Count;
                }
            }

            if (changes.GetArrayLength() == 0 && stopWhenIdle)
            {
                return Outcome.Idle;
            }
        }

        return Outcome.Cancelled;
    }

    /// <summary>One line for one change: "@alice:example.org joined !room:example.org".</summary>
    public static string Describe(JsonElement change)
    {
        string room = change.GetProperty("room_id").GetString()!;
        if (change.GetProperty("kind").GetString() == "room")
        {
            var fields = change.GetProperty("changed").EnumerateObject().Select(f => $"{f.Name}={f.Value.GetRawText()}");
            return $"{room} changed: {string.Join(", ", fields)}".TrimEnd(' ', ':');
        }

        string user = change.GetProperty("user_id").GetString()!;
        string? membership = Text(change, "membership");
        string? before = Text(change, "prev_membership");
        string verb = membership switch
        {
            null => "is no longer tracked in", // the bot left the room: its member rows were purged
            _ when membership == before => "changed their profile in",
            "join" => "joined",
            "leave" when before == "invite" => "rejected the invite to",
            "leave" => "left",
            "invite" => "was invited to",
            "ban" => "was banned from",
            "knock" => "knocked on",
            _ => $"is {membership} in",
        };
        return $"{user} {verb} {room}";
    }

    private static string? Text(JsonElement change, string name) =>
        change.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private async Task SaveCursorAsync(string position, CancellationToken ct)
    {
        string temporary = cursorPath + ".tmp";
        await File.WriteAllTextAsync(temporary, position, ct);
        File.Move(temporary, cursorPath, overwrite: true);
    }
}
