using System.Text.Json;

namespace AppService.Matrix;

/// <summary>
/// Type checks on the content keys the projections read. An event that fails them would corrupt a projection, so
/// it is rejected (stored with the reason) instead of being applied. Keys we do not read are not checked.
/// </summary>
public static class ContentRules
{
    public static string? Check(string type, bool isState, JsonElement content)
    {
        if (type == EventTypes.Redaction)
        {
            return StringOrNull(content, "redacts");
        }

        if (!isState)
        {
            return null;
        }

        return type switch
        {
            EventTypes.Member => CheckMember(content),
            EventTypes.Create => StringOrNull(content, "room_version") ?? StringOrNull(content, "creator")
                ?? StringOrNull(content, "type") ?? ObjectOrNull(content, "predecessor"),
            EventTypes.Name => StringOrNull(content, "name"),
            EventTypes.Topic => StringOrNull(content, "topic"),
            EventTypes.CanonicalAlias => StringOrNull(content, "alias"),
            EventTypes.Avatar => StringOrNull(content, "url"),
            EventTypes.JoinRules => StringOrNull(content, "join_rule"),
            EventTypes.HistoryVisibility => StringOrNull(content, "history_visibility"),
            EventTypes.Encryption => StringOrNull(content, "algorithm"),
            EventTypes.Tombstone => StringOrNull(content, "replacement_room"),
            _ => null,
        };
    }

    private static string? CheckMember(JsonElement content)
    {
        if (!content.TryGetProperty("membership", out var membership) || membership.ValueKind != JsonValueKind.String)
        {
            return "m.room.member content has no string 'membership'";
        }

        if (Memberships.Normalize(membership.GetString()) is null)
        {
            return $"m.room.member content has unknown membership '{Truncate(membership.GetString())}'";
        }

        return StringOrNull(content, "displayname") ?? StringOrNull(content, "avatar_url");
    }

    private static string? StringOrNull(JsonElement content, string key) =>
        content.TryGetProperty(key, out var value) && value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null)
            ? $"content.{key} must be a string or null, got {value.ValueKind.ToString().ToLowerInvariant()}"
            : null;

    private static string? ObjectOrNull(JsonElement content, string key) =>
        content.TryGetProperty(key, out var value) && value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null)
            ? $"content.{key} must be an object or null, got {value.ValueKind.ToString().ToLowerInvariant()}"
            : null;

    private static string? Truncate(string? value) => value is { Length: > 64 } ? value[..64] + "…" : value;
}
