using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace AppService.Matrix;

/// <summary>
/// The one reader of a Matrix event (ClientEvent shape), for every path that reads one: pushed transactions
/// (<see cref="TransactionParser"/>), a resync's snapshots (<c>Homeserver/Snapshots</c>) and an invite's stripped
/// state (<c>Projections/StrippedState</c>). The rules of README "Input safety" are applied here and nowhere else:
/// only what the service reads can reject an event. The ids and keys we read are strings of storable text
/// (<see cref="MatrixText.IsValid"/>) of at most 255 bytes, nesting is at most <see cref="MaxEventDepth"/>, content
/// is an object whose keys with a meaning have the right types (<see cref="ContentRules"/>). Anything else (a property
/// name holding U+0000 or a lone surrogate in content, <c>unsigned</c> or <c>prev_content</c>, a display value of the
/// wrong type) is not read as such, so it never rejects the event. What a path may leave out is its
/// <see cref="EventShape"/>; what a failure means (quarantined, skipped) is the caller's.
/// </summary>
public static class EventReader
{
    /// <summary>
    /// Nesting deeper than this makes an event rejected (<c>too_deep</c>). The spec sets no limit; the body parser has
    /// none (nothing of ours recurses: the depth is measured iteratively with <c>Utf8JsonReader.CurrentDepth</c>), so
    /// this only bounds what we accept as an event. Synapse's Python <c>json</c> cannot decode or encode ~1000 levels
    /// (recursion limit), so no real event comes near 1024 containers.
    /// </summary>
    public const int MaxEventDepth = 1024;

    /// <summary>Reads one element as an event of the given shape. Never throws, whatever the element holds.</summary>
    public static EventReading Read(JsonElement element, EventShape shape)
    {
        try
        {
            return ReadCore(element, shape);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or FormatException or JsonException)
        {
            // Belt and braces: every read below is meant not to throw; if one does, the event is refused, not the body.
            return new(null, new(RejectionCodes.ProcessingFailed, $"unreadable event ({ex.GetType().Name})"), null, null, null);
        }
    }

    private static EventReading ReadCore(JsonElement element, EventShape shape)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return new(null, new(RejectionCodes.NotObject, "event is not a JSON object"), null, null, null);
        }

        // An empty id is no id: a rejection is stored without one, and hashed by its raw JSON.
        string? eventId = shape.HasEventId ? NullIfEmpty(MatrixText.Get(element, "event_id")) : null;
        string? roomId = NullIfEmpty(MatrixText.Get(element, "room_id"));
        string? type = NullIfEmpty(MatrixText.Get(element, "type"));
        if (Check(element, shape, eventId, roomId, type) is { } failure)
        {
            return new(null, failure, eventId, roomId, type);
        }

        MatrixText.TryGetProperty(element, "content", out var content);
        JsonElement? unsigned = MatrixText.TryGetProperty(element, "unsigned", out var u) && u.ValueKind == JsonValueKind.Object ? u : null;
        long? ts = MatrixText.TryGetProperty(element, "origin_server_ts", out var t) && t.ValueKind == JsonValueKind.Number && t.TryGetInt64(out long tsValue)
            ? tsValue
            : null;

        var e = new MatrixEvent(eventId ?? "", shape.ImpliedRoomId ?? roomId!, type!, MatrixText.Get(element, "sender") ?? "",
            MatrixText.Get(element, "state_key"), ts, content, unsigned, Redacts(element, type!, content));
        return new(e, null, eventId, roomId, type);
    }

    /// <summary>v1-v10 put 'redacts' at the top level, v11+ in content; servers copy it to both places.</summary>
    private static string? Redacts(JsonElement element, string type, JsonElement content) =>
        type == EventTypes.Redaction ? MatrixText.Get(element, "redacts") ?? MatrixText.Get(content, "redacts") : null;

    private static Rejection? Check(JsonElement element, EventShape shape, string? eventId, string? roomId, string? type)
    {
        if (Scan(element) is { } scan)
        {
            return scan;
        }

        if (((shape.HasEventId ? RequiredId(element, "event_id", eventId) : null)
            ?? (shape.ImpliedRoomId is { } implied ? SameRoom(element, implied) : RequiredId(element, "room_id", roomId))
            ?? RequiredId(element, "type", type)) is { } missing)
        {
            return missing;
        }

        if ((OptionalId(element, "sender") ?? OptionalId(element, "state_key")) is { } bad)
        {
            return bad;
        }

        bool isState = MatrixText.TryGetProperty(element, "state_key", out _);
        if (shape.StateOnly && !isState)
        {
            return new(RejectionCodes.MissingField, "missing 'state_key' (not a state event)");
        }

        if (!MatrixText.TryGetProperty(element, "content", out var content))
        {
            return new(RejectionCodes.MissingField, "missing 'content'");
        }

        if (content.ValueKind != JsonValueKind.Object)
        {
            return new(RejectionCodes.WrongType, "'content' is not an object");
        }

        if (type == EventTypes.Redaction && (OptionalId(element, "redacts") ?? OptionalId(content, "redacts", "content.redacts")) is { } redacts)
        {
            return redacts;
        }

        if (MatrixText.TryGetProperty(element, "unsigned", out var unsigned) && unsigned.ValueKind == JsonValueKind.Object
            && MatrixText.TryGetProperty(unsigned, "replaces_state", out var replaces) && replaces.ValueKind == JsonValueKind.String
            && !MatrixText.IsValid(MatrixText.Read(replaces)))
        {
            return new(RejectionCodes.InvalidString, "'unsigned.replaces_state' holds U+0000 or invalid UTF-16");
        }

        if (shape.MaxEventBytes is { } maxEventBytes && TooLarge(element, unsigned, maxEventBytes) is { } tooLarge)
        {
            return tooLarge;
        }

        return ContentRules.Check(type!, isState, content);
    }

    private static Rejection? TooLarge(JsonElement element, JsonElement unsigned, int maxEventBytes)
    {
        int size = JsonMarshal.GetRawUtf8Value(element).Length;
        if (unsigned.ValueKind != JsonValueKind.Undefined)
        {
            // Stripped state and prev_content ride in unsigned; the spec's limit is on the event itself.
            size -= JsonMarshal.GetRawUtf8Value(unsigned).Length;
        }

        return size > maxEventBytes ? new(RejectionCodes.TooLarge, $"event is {size} bytes, over the {maxEventBytes}-byte limit") : null;
    }

    /// <summary>event_id, room_id, type: present, non-empty strings, valid text, at most 255 bytes (spec).</summary>
    private static Rejection? RequiredId(JsonElement element, string name, string? value)
    {
        if (value is not null)
        {
            return OptionalId(element, name);
        }

        return MatrixText.TryGetProperty(element, name, out var v) && v.ValueKind != JsonValueKind.String
            ? new(RejectionCodes.WrongType, $"'{name}' is not a string")
            : new(RejectionCodes.MissingField, $"missing or empty '{name}'");
    }

    /// <summary>room_id where the request names the room: it may be absent, but must not name another room.</summary>
    private static Rejection? SameRoom(JsonElement element, string roomId)
    {
        if (!MatrixText.TryGetProperty(element, "room_id", out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return new(RejectionCodes.WrongType, "'room_id' is not a string");
        }

        return MatrixText.Read(value) == roomId ? null : new(RejectionCodes.WrongType, "'room_id' names another room");
    }

    /// <summary>An id or key that may be absent, but if present is a string, valid text, at most 255 bytes (spec).</summary>
    private static Rejection? OptionalId(JsonElement element, string name, string? label = null)
    {
        label ??= name;
        if (!MatrixText.TryGetProperty(element, name, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return new(RejectionCodes.WrongType, $"'{label}' is not a string");
        }

        string text = MatrixText.Read(value);
        if (!MatrixText.IsValid(text))
        {
            return new(RejectionCodes.InvalidString, $"'{label}' holds U+0000 or invalid UTF-16");
        }

        return Encoding.UTF8.GetByteCount(text) > 255 ? new(RejectionCodes.TooLarge, $"'{label}' longer than 255 bytes") : null;
    }

    /// <summary>
    /// One forward pass over the event's raw JSON, only when it could matter (more than <see cref="MaxEventDepth"/>
    /// brackets): nesting deeper than <see cref="MaxEventDepth"/>. Iterative: the reader tracks the depth, nothing
    /// recurses. Property names are not checked: a name holding U+0000 or invalid UTF-16 is never one we read (every
    /// lookup goes through <see cref="MatrixText.TryGetProperty"/>, which never throws), so it cannot reject the event.
    /// </summary>
    private static Rejection? Scan(JsonElement element)
    {
        ReadOnlySpan<byte> raw = JsonMarshal.GetRawUtf8Value(element);
        if (raw.Count((byte)'{') + raw.Count((byte)'[') <= MaxEventDepth)
        {
            return null;
        }

        var reader = new Utf8JsonReader(raw, new JsonReaderOptions { MaxDepth = int.MaxValue, AllowTrailingCommas = false });
        while (reader.Read())
        {
            if (reader.CurrentDepth >= MaxEventDepth)
            {
                return new(RejectionCodes.TooDeep, $"event nests deeper than {MaxEventDepth} levels");
            }
        }

        return null;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
