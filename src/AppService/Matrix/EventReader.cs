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

        var top = EventTopLevel.Read(element);
        var ids = new Ids(
            EventId: shape.HasEventId ? Text(top.EventId) : null,
            RoomId: Text(top.RoomId),
            Type: Text(top.Type),
            Sender: Text(top.Sender),
            StateKey: Text(top.StateKey),
            Redacts: Text(top.Redacts));

        // An empty id is no id: a rejection is stored without one, and hashed by its raw JSON.
        string? eventId = NullIfEmpty(ids.EventId);
        string? roomId = NullIfEmpty(ids.RoomId);
        string? type = NullIfEmpty(ids.Type);
        if (Check(element, shape, top, ids) is { } failure)
        {
            return new(null, failure, eventId, roomId, type);
        }

        JsonElement? unsigned = top.Unsigned.ValueKind == JsonValueKind.Object ? top.Unsigned : null;
        long? ts = top.OriginServerTs.ValueKind == JsonValueKind.Number && top.OriginServerTs.TryGetInt64(out long tsValue) ? tsValue : null;

        var e = new MatrixEvent(eventId ?? "", shape.ImpliedRoomId ?? roomId!, type!, ids.Sender ?? "",
            ids.StateKey, ts, top.Content, unsigned, Redacts(ids, top.Content));
        return new(e, null, eventId, roomId, type);
    }

    /// <summary>
    /// The top-level strings <see cref="Check"/> and <see cref="ReadCore"/> both use, each read once (null if absent or
    /// not a string; an empty string stays empty here).
    /// </summary>
    private readonly record struct Ids(string? EventId, string? RoomId, string? Type, string? Sender, string? StateKey, string? Redacts);

    /// <summary>v1-v10 put 'redacts' at the top level, v11+ in content; servers copy it to both places.</summary>
    private static string? Redacts(Ids ids, JsonElement content) =>
        ids.Type == EventTypes.Redaction ? ids.Redacts ?? MatrixText.Get(content, "redacts"u8) : null;

    private static Rejection? Check(JsonElement element, EventShape shape, in EventTopLevel top, Ids ids)
    {
        if (Scan(element) is { } scan)
        {
            return scan;
        }

        if (((shape.HasEventId ? RequiredId(top.EventId, ids.EventId, "event_id") : null)
            ?? (shape.ImpliedRoomId is { } implied ? SameRoom(top.RoomId, ids.RoomId, implied) : RequiredId(top.RoomId, ids.RoomId, "room_id"))
            ?? RequiredId(top.Type, ids.Type, "type")) is { } missing)
        {
            return missing;
        }

        if ((OptionalId(top.Sender, ids.Sender, "sender") ?? OptionalId(top.StateKey, ids.StateKey, "state_key")) is { } bad)
        {
            return bad;
        }

        bool isState = Present(top.StateKey);
        if (shape.StateOnly && !isState)
        {
            return new(RejectionCodes.MissingField, "missing 'state_key' (not a state event)");
        }

        var content = top.Content;
        if (!Present(content))
        {
            return new(RejectionCodes.MissingField, "missing 'content'");
        }

        if (content.ValueKind != JsonValueKind.Object)
        {
            return new(RejectionCodes.WrongType, "'content' is not an object");
        }

        if (ids.Type == EventTypes.Redaction && (OptionalId(top.Redacts, ids.Redacts, "redacts") ?? ContentRedacts(content)) is { } redacts)
        {
            return redacts;
        }

        var unsigned = top.Unsigned;
        if (unsigned.ValueKind == JsonValueKind.Object
            && MatrixText.TryGetProperty(unsigned, "replaces_state"u8, out var replaces) && replaces.ValueKind == JsonValueKind.String
            && !MatrixText.IsValid(MatrixText.Read(replaces)))
        {
            return new(RejectionCodes.InvalidString, "'unsigned.replaces_state' holds U+0000 or invalid UTF-16");
        }

        if (shape.MaxEventBytes is { } maxEventBytes && TooLarge(element, unsigned, maxEventBytes) is { } tooLarge)
        {
            return tooLarge;
        }

        return ContentRules.Check(ids.Type!, isState, content);
    }

    private static Rejection? ContentRedacts(JsonElement content) =>
        MatrixText.TryGetProperty(content, "redacts"u8, out var value) ? OptionalId(value, Text(value), "content.redacts") : null;

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

    /// <summary>
    /// event_id, room_id, type: present, non-empty strings, valid text, at most 255 bytes (spec). <paramref name="text"/>
    /// is <paramref name="value"/>'s string, null if absent or not a string.
    /// </summary>
    private static Rejection? RequiredId(JsonElement value, string? text, string name)
    {
        if (!string.IsNullOrEmpty(text))
        {
            return OptionalId(value, text, name);
        }

        return Present(value) && value.ValueKind != JsonValueKind.String
            ? new(RejectionCodes.WrongType, $"'{name}' is not a string")
            : new(RejectionCodes.MissingField, $"missing or empty '{name}'");
    }

    /// <summary>room_id where the request names the room: it may be absent, but must not name another room.</summary>
    private static Rejection? SameRoom(JsonElement value, string? text, string roomId)
    {
        if (!Present(value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return new(RejectionCodes.WrongType, "'room_id' is not a string");
        }

        return text == roomId ? null : new(RejectionCodes.WrongType, "'room_id' names another room");
    }

    /// <summary>
    /// An id or key that may be absent, but if present is a string, valid text, at most 255 bytes (spec).
    /// <paramref name="text"/> is <paramref name="value"/>'s string, null if absent or not a string.
    /// </summary>
    private static Rejection? OptionalId(JsonElement value, string? text, string label)
    {
        if (!Present(value))
        {
            return null;
        }

        if (text is null)
        {
            return new(RejectionCodes.WrongType, $"'{label}' is not a string");
        }

        if (!MatrixText.IsValid(text))
        {
            return new(RejectionCodes.InvalidString, $"'{label}' holds U+0000 or invalid UTF-16");
        }

        return Encoding.UTF8.GetByteCount(text) > 255 ? new(RejectionCodes.TooLarge, $"'{label}' longer than 255 bytes") : null;
    }

    /// <summary>A string property's text (never throws, <see cref="MatrixText.Read"/>); null if absent or not a string.</summary>
    private static string? Text(JsonElement value) => value.ValueKind == JsonValueKind.String ? MatrixText.Read(value) : null;

    private static bool Present(JsonElement value) => value.ValueKind != JsonValueKind.Undefined;

    /// <summary>
    /// One forward pass over the event's raw JSON, only when it could matter (more than <see cref="MaxEventDepth"/>
    /// brackets): nesting deeper than <see cref="MaxEventDepth"/>. Iterative: the reader tracks the depth, nothing
    /// recurses. Property names are not checked: a name holding U+0000 or invalid UTF-16 is never one we read (every
    /// lookup goes through <see cref="EventTopLevel"/> or <c>MatrixText.TryGetProperty</c>, which never throw), so it cannot reject the event.
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
