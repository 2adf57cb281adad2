using System.Text;
using System.Text.Json;

namespace AppService.Matrix;

/// <summary>
/// Type checks on the content keys whose value decides what the projections do: <c>membership</c>, <c>redacts</c>,
/// and the create event's <c>room_version</c> and <c>creator</c> (they choose the room's rules and who has power). An
/// event that fails them would corrupt a projection, so it is rejected (stored with the reason) instead of being
/// applied. Display values (displayname, avatar_url, name, topic, alias, url, join_rule, history_visibility,
/// algorithm, replacement_room, the create event's <c>type</c> and <c>predecessor</c>) are never a reason to reject
/// an event: one that is not a string (a number, an object, an array) is projected as null, its text is made storable when projected
/// (<see cref="MatrixText.Display"/>), and the membership or state it comes with still counts (federated servers do
/// not validate them). Keys we do not read are not checked.
/// </summary>
public static class ContentRules
{
    public static Rejection? Check(string type, bool isState, JsonElement content)
    {
        if (type == EventTypes.Redaction)
        {
            return StringOrNull(content, "redacts"u8);
        }

        if (!isState)
        {
            return null;
        }

        return type switch
        {
            EventTypes.Member => CheckMember(content),
            EventTypes.Create => StringOrNull(content, "room_version"u8) ?? StringOrNull(content, "creator"u8),
            _ => null,
        };
    }

    private static Rejection? CheckMember(JsonElement content)
    {
        if (!MatrixText.TryGetProperty(content, "membership"u8, out var membership))
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

        return null;
    }

    private static Rejection? StringOrNull(JsonElement content, ReadOnlySpan<byte> key) =>
        MatrixText.TryGetProperty(content, key, out var value) && value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null)
            ? new(RejectionCodes.WrongType, $"content.{Encoding.UTF8.GetString(key)} must be a string or null, got {value.ValueKind.ToString().ToLowerInvariant()}")
            : null;

    private static string Truncate(string value) => value.Length > 64 ? value[..64] + "…" : value;
}
