using System.Text.Json;

namespace AppService.Matrix;

/// <summary>
/// Type checks on the content keys the projections read. An event that fails them would corrupt a projection, so
/// it is rejected (stored with the reason) instead of being applied. Keys we do not read are not checked. Display
/// values are only type-checked here: their text is made storable when projected (<see cref="MatrixText.Display"/>).
/// </summary>
public static class ContentRules
{
    public static Rejection? Check(string type, bool isState, JsonElement content)
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

    private static Rejection? CheckMember(JsonElement content)
    {
        if (!MatrixText.TryGetProperty(content, "membership", out var membership))
        {
            return new(RejectionCodes.MissingField, "m.room.member content has no string 'membership'");
        }

        if (membership.ValueKind != JsonValueKind.String)
        {
            return new(RejectionCodes.WrongType, "m.room.member content has no string 'membership'");
        }

        string value = MatrixText.Read(membership);
        if (!MatrixText.IsValid(value))
        {
            return new(RejectionCodes.InvalidString, "m.room.member content.membership holds U+0000 or invalid UTF-16");
        }

        if (Memberships.Normalize(value) is null)
        {
            return new(RejectionCodes.WrongType, $"m.room.member content has unknown membership '{Truncate(value)}'");
        }

        return StringOrNull(content, "displayname") ?? StringOrNull(content, "avatar_url");
    }

    private static Rejection? StringOrNull(JsonElement content, string key) =>
        MatrixText.TryGetProperty(content, key, out var value) && value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null)
            ? new(RejectionCodes.WrongType, $"content.{key} must be a string or null, got {value.ValueKind.ToString().ToLowerInvariant()}")
            : null;

    private static Rejection? ObjectOrNull(JsonElement content, string key) =>
        MatrixText.TryGetProperty(content, key, out var value) && value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null)
            ? new(RejectionCodes.WrongType, $"content.{key} must be an object or null, got {value.ValueKind.ToString().ToLowerInvariant()}")
            : null;

    private static string Truncate(string value) => value.Length > 64 ? value[..64] + "…" : value;
}
