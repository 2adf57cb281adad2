using System.Text.Json;
using AppService.Simulator.Workload;

namespace AppService.Simulator.Oracle;

/// <summary>
/// When the service must reject an event (record it, change nothing, still answer 200): a missing
/// <c>event_id</c>, <c>room_id</c> or <c>type</c>; an id or key holding U+0000 or a lone surrogate, an event_id
/// over 255 bytes; content that is not an object, nests deeper than 1024 levels, or whose fields the service acts on
/// (membership, the create's room_version and creator) have the wrong type; more than 64 KiB of JSON without
/// <c>unsigned</c>. A display value of the wrong type is not poison: it is projected as null (issue 16 point 4).
/// Written from the rules, independently of
/// how the fault injector builds poison, so that the two can be checked against each other.
/// </summary>
internal static class PoisonRules
{
    public const int MaxEventBytes = 65_536;

    /// <summary>
    /// The string fields whose value the service acts on; any other JSON type there is poison. Display values (name,
    /// topic, displayname, ...) are not among them: one that is not a string is projected as null.
    /// </summary>
    private static readonly Dictionary<string, string[]> ProjectedFields = new(StringComparer.Ordinal)
    {
        ["m.room.member"] = ["membership"],
        ["m.room.create"] = ["room_version", "creator"],
    };

    /// <summary>Null for a valid event, else why it is poison.</summary>
    public static string? Classify(SimEvent e)
    {
        if (string.IsNullOrEmpty(e.EventId))
        {
            return "missing event_id";
        }
        if (!JsonStrings.IsUsableId(e.EventId))
        {
            return "event_id holds U+0000 or a lone surrogate, or is over 255 bytes";
        }
        foreach (var (name, value) in new[] { ("room_id", e.RoomId), ("type", e.Type), ("state_key", e.StateKey), ("sender", e.Sender), ("redacts", e.Redacts) })
        {
            if (value is not null && JsonStrings.IsPoisoned(value))
            {
                return $"{name} holds U+0000 or a lone surrogate";
            }
        }
        if (string.IsNullOrEmpty(e.RoomId))
        {
            return "missing room_id";
        }
        if (string.IsNullOrEmpty(e.Type))
        {
            return "missing type";
        }
        using var content = JsonDocument.Parse(e.Content, JsonStrings.Deep);
        if (content.RootElement.ValueKind != JsonValueKind.Object)
        {
            return "content is not an object";
        }
        if (JsonStrings.Depth(e.Content) > JsonStrings.MaxContentDepth)
        {
            return "content nested deeper than 1024 levels";
        }
        if (e.StateKey is not null && ProjectedFields.ContainsKey(e.Type)
            && (e.Type == "m.room.member" || e.StateKey.Length == 0))
        {
            if (WrongField(e.Type, content.RootElement) is { } wrong)
            {
                return wrong;
            }
            if (e.Type == "m.room.member"
                && (!content.RootElement.TryGetProperty("membership", out var membership) || membership.ValueKind != JsonValueKind.String))
            {
                return "content.membership is missing";
            }
            if (e.Type == "m.room.member" && JsonStrings.IsPoisoned(JsonStrings.Decode(content.RootElement.GetProperty("membership"))))
            {
                return "content.membership holds U+0000 or a lone surrogate";
            }
        }
        var size = EventSerializer.SizeWithoutUnsigned(e);
        return size > MaxEventBytes ? $"{size} bytes without unsigned" : null;
    }

    /// <summary>Whether a state content is an object whose projected fields are strings or null (stripped state too).</summary>
    public static bool ProjectedFieldsReadable(string type, JsonElement content) =>
        content.ValueKind == JsonValueKind.Object && WrongField(type, content) is null;

    private static string? WrongField(string type, JsonElement content)
    {
        foreach (var field in ProjectedFields.GetValueOrDefault(type) ?? [])
        {
            if (content.TryGetProperty(field, out var value) && value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                return $"content.{field} is {value.ValueKind}";
            }
        }

        return null;
    }
}
