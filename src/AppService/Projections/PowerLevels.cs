using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppService.Matrix;

namespace AppService.Projections;

/// <summary>
/// The part of a room's <c>m.room.power_levels</c> the projections read (the redaction rule): <c>users</c>,
/// <c>users_default</c> (default 0) and <c>redact</c> (default 50). Stored in <c>rooms.power_levels</c> as our own
/// compact JSON (<see cref="ToJson"/>); a SQL NULL there means "not known" (no power_levels event seen and no
/// resync yet), which is not the same as "the room has none" (<see cref="Absent"/>).
/// </summary>
/// <param name="Users">Explicit levels, trimmed to the users whose "may redact" answer differs from the default's.</param>
/// <param name="Absent">The room has no power_levels event: its creator has 100 (spec, v1-v11), everyone else users_default.</param>
public sealed record PowerLevels(IReadOnlyDictionary<string, long> Users, long UsersDefault, long Redact, bool Absent)
{
    public const long DefaultRedact = 50;

    /// <summary>A room without a power_levels event.</summary>
    public static readonly PowerLevels None = new(new Dictionary<string, long>(StringComparer.Ordinal), 0, DefaultRedact, Absent: true);

    /// <summary>
    /// Reads the content of a power_levels event. Levels are integers; before room v10 a string holding one was
    /// allowed too, so both are read; anything else falls back to the default (the homeserver validated the event).
    /// </summary>
    public static PowerLevels FromContent(JsonElement content)
    {
        long usersDefault = Level(content, "users_default") ?? 0;
        long redact = Level(content, "redact") ?? DefaultRedact;
        var users = new Dictionary<string, long>(StringComparer.Ordinal);
        if (MatrixText.TryGetProperty(content, "users", out var map) && map.ValueKind == JsonValueKind.Object)
        {
            foreach (var user in map.EnumerateObject())
            {
                // Only entries that change the answer are kept: large rooms list many users at the default level. A
                // name holding U+0000 or a lone surrogate is no user id a sender can have (senders are valid text):
                // it can never match, so it is left out, and never reaches the stored JSON.
                if (Level(user.Value) is { } level && level >= redact != usersDefault >= redact
                    && MatrixText.Name(user) is { } userId && MatrixText.IsValid(userId))
                {
                    users[userId] = level;
                }
            }
        }

        return new PowerLevels(users, usersDefault, redact, Absent: false);
    }

    /// <summary>The user's power level (without v12 creators, see <see cref="RedactionAuth"/>).</summary>
    public long LevelOf(string userId, string? creator) =>
        Users.TryGetValue(userId, out long level) ? level
        : Absent && userId == creator ? 100
        : UsersDefault;

    public string ToJson()
    {
        var users = new JsonObject();
        foreach (var (user, level) in Users.OrderBy(u => u.Key, StringComparer.Ordinal))
        {
            users[user] = level;
        }

        var json = new JsonObject { ["users_default"] = UsersDefault, ["redact"] = Redact, ["users"] = users };
        if (Absent)
        {
            json["absent"] = true;
        }

        return json.ToJsonString();
    }

    /// <summary>Reads <see cref="ToJson"/>'s form; null for null (not known).</summary>
    public static PowerLevels? FromJson(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var levels = FromContent(root);
        return MatrixText.TryGetProperty(root, "absent", out var absent) && absent.ValueKind == JsonValueKind.True
            ? levels with { Absent = true }
            : levels;
    }

    private static long? Level(JsonElement content, string key) =>
        MatrixText.TryGetProperty(content, key, out var value) ? Level(value) : null;

    private static long? Level(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number when value.TryGetInt64(out long n) => n,
        JsonValueKind.String when long.TryParse(MatrixText.Read(value).Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n) => n,
        _ => null,
    };
}
