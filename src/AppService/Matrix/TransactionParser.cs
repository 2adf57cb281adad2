using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AppService.Matrix;

/// <summary>What a transaction body holds once it has been validated event by event.</summary>
public sealed class ParsedTransaction
{
    public List<MatrixEvent> Events { get; } = [];

    public List<RejectedEvent> Rejected { get; } = [];

    /// <summary>The raw JSON of each of <see cref="Events"/>, same order: what the safety net stores when one fails.</summary>
    public List<JsonElement> Sources { get; } = [];

    /// <summary>The raw UTF-8 of an event of <see cref="Events"/> (found by reference; only the safety net asks).</summary>
    public ReadOnlyMemory<byte> SourceOf(MatrixEvent e)
    {
        int i = Events.FindIndex(x => ReferenceEquals(x, e));
        return i < 0 ? ReadOnlyMemory<byte>.Empty : JsonMarshal.GetRawUtf8Value(Sources[i]).ToArray();
    }

    /// <summary>Ephemeral entries (stable and MSC2409 keys, de-duplicated): counted, not stored.</summary>
    public int EphemeralCount { get; set; }

    /// <summary>To-device messages (MSC2409/MSC4203): counted, not stored.</summary>
    public int ToDeviceCount { get; set; }

    /// <summary>Whether MSC3202 device-list / key-count keys were present: counted, not stored.</summary>
    public bool HasDeviceData { get; set; }

    /// <summary>
    /// SHA-256 over the ids (or raw JSON, for events without an id) of every event in order: tells a replay of the
    /// same txnId from a reuse of it with other events.
    /// </summary>
    public byte[] ContentHash { get; set; } = [];

    public int TotalEvents => Events.Count + Rejected.Count;
}

public sealed class TransactionBodyException(string errCode, string message) : Exception(message)
{
    public string ErrCode { get; } = errCode;
}

/// <summary>
/// Validates a transaction body. The body as a whole is either usable (an object with an <c>events</c> array) or a
/// 400; each event on its own is either a <see cref="MatrixEvent"/> or a <see cref="RejectedEvent"/> with a reason.
/// </summary>
public static class TransactionParser
{
    private static readonly string[] EphemeralKeys = ["ephemeral", "de.sorunome.msc2409.ephemeral"];

    /// <param name="tooDeep">Entries of <c>events</c> already flattened by <see cref="DeepValues.Flatten"/>, by index: rejected as too_deep.</param>
    public static ParsedTransaction Parse(JsonDocument document, int maxEventBytes, IReadOnlyDictionary<int, RejectedEvent>? tooDeep = null)
    {
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new TransactionBodyException(MatrixError.Codes.BadJson, "The transaction body must be a JSON object.");
        }

        if (!MatrixText.TryGetProperty(root, "events", out var events))
        {
            throw new TransactionBodyException(MatrixError.Codes.BadJson, "The transaction body has no 'events' array.");
        }

        if (events.ValueKind != JsonValueKind.Array)
        {
            throw new TransactionBodyException(MatrixError.Codes.BadJson, "'events' must be an array.");
        }

        var result = new ParsedTransaction();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> separator = [0];
        int index = -1;
        foreach (var element in events.EnumerateArray())
        {
            index++;
            if (tooDeep is not null && tooDeep.TryGetValue(index, out var deep))
            {
                result.Rejected.Add(deep);
                hash.AppendData(deep.EventId is { } deepId ? Encoding.UTF8.GetBytes(deepId) : Encoding.UTF8.GetBytes(deep.RawJson));
                hash.AppendData(separator);
                continue;
            }

            var parsed = ParseEvent(element, maxEventBytes, out var rejected);
            if (parsed is not null)
            {
                result.Events.Add(parsed);
                result.Sources.Add(element);
                hash.AppendData(Encoding.UTF8.GetBytes(parsed.EventId));
            }
            else
            {
                result.Rejected.Add(rejected!);
                hash.AppendData(rejected!.EventId is { } id ? Encoding.UTF8.GetBytes(id) : JsonMarshal.GetRawUtf8Value(element));
            }

            hash.AppendData(separator);
        }

        result.ContentHash = hash.GetHashAndReset();
        result.EphemeralCount = CountEphemeral(root);
        if (MatrixText.TryGetProperty(root, "de.sorunome.msc2409.to_device", out var toDevice) && toDevice.ValueKind == JsonValueKind.Array)
        {
            result.ToDeviceCount = toDevice.GetArrayLength();
        }

        foreach (var property in root.EnumerateObject())
        {
            // The raw name: Name would throw on an invalidly escaped key, and these keys are never escaped.
            if (JsonMarshal.GetRawUtf8PropertyName(property).StartsWith("org.matrix.msc3202."u8))
            {
                result.HasDeviceData = true;
                break;
            }
        }

        return result;
    }

    /// <summary>Synapse sends both ephemeral keys when both registration flags are set: count each entry once.</summary>
    private static int CountEphemeral(JsonElement root)
    {
        HashSet<string>? seen = null;
        int count = 0;
        foreach (string key in EphemeralKeys)
        {
            if (!MatrixText.TryGetProperty(root, key, out var list) || list.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            seen ??= new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in list.EnumerateArray())
            {
                if (seen.Add(Convert.ToBase64String(JsonMarshal.GetRawUtf8Value(item))))
                {
                    count++;
                }
            }
        }

        return count;
    }

    /// <summary>
    /// Nesting deeper than this makes an event rejected (<c>too_deep</c>). The spec sets no limit; the body parser has
    /// none (nothing of ours recurses: the depth is measured iteratively with <c>Utf8JsonReader.CurrentDepth</c>), so
    /// this only bounds what we accept as an event. Synapse's Python <c>json</c> cannot decode or encode ~1000 levels
    /// (recursion limit), so no real event comes near 1024 containers.
    /// </summary>
    public const int MaxEventDepth = 1024;

    /// <summary>Validates one entry of <c>events</c> on its own. Never throws, whatever the entry holds.</summary>
    public static MatrixEvent? ParseEvent(JsonElement element, int maxEventBytes, out RejectedEvent? rejected)
    {
        try
        {
            return ParseEventCore(element, maxEventBytes, out rejected);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or FormatException or JsonException)
        {
            // Belt and braces: every read below is meant not to throw; if one does, the event is quarantined, not the body.
            rejected = Reject(element, null, null, null, RejectionCodes.ProcessingFailed, $"unreadable event ({ex.GetType().Name})", maxEventBytes);
            return null;
        }
    }

    private static MatrixEvent? ParseEventCore(JsonElement element, int maxEventBytes, out RejectedEvent? rejected)
    {
        rejected = null;
        if (element.ValueKind != JsonValueKind.Object)
        {
            rejected = Reject(element, null, null, null, RejectionCodes.NotObject, "event is not a JSON object", maxEventBytes);
            return null;
        }

        // An empty id is no id: the rejection is stored without one, and hashed by its raw JSON.
        string? eventId = NullIfEmpty(OptionalString(element, "event_id"));
        string? roomId = NullIfEmpty(OptionalString(element, "room_id"));
        string? type = NullIfEmpty(OptionalString(element, "type"));

        var failure = Validate(element, eventId, roomId, type, maxEventBytes);
        if (failure is { } f)
        {
            rejected = Reject(element, eventId, roomId, type, f.Code, f.Reason, maxEventBytes);
            return null;
        }

        MatrixText.TryGetProperty(element, "content", out var content);
        string? stateKey = OptionalString(element, "state_key");
        JsonElement? unsigned = MatrixText.TryGetProperty(element, "unsigned", out var u) && u.ValueKind == JsonValueKind.Object ? u : null;
        long? ts = MatrixText.TryGetProperty(element, "origin_server_ts", out var t) && t.ValueKind == JsonValueKind.Number && t.TryGetInt64(out long tsValue)
            ? tsValue
            : null;

        return new MatrixEvent(eventId!, roomId!, type!, OptionalString(element, "sender") ?? "", stateKey, ts, content, unsigned, Redacts(element, type!, content));
    }

    /// <summary>v1-v10 put 'redacts' at the top level, v11+ in content; servers copy it to both places.</summary>
    private static string? Redacts(JsonElement element, string type, JsonElement content) =>
        type == EventTypes.Redaction ? OptionalString(element, "redacts") ?? OptionalString(content, "redacts") : null;

    private static RejectedEvent Reject(JsonElement element, string? eventId, string? roomId, string? type, string code, string reason, int maxEventBytes)
    {
        ReadOnlySpan<byte> raw = JsonMarshal.GetRawUtf8Value(element);
        return new RejectedEvent(eventId, roomId, type, code, MatrixText.Storable(reason), MatrixText.CutUtf8(raw, maxEventBytes), raw.Length);
    }

    private static Rejection? Validate(JsonElement element, string? eventId, string? roomId, string? type, int maxEventBytes)
    {
        if (Scan(element) is { } scan)
        {
            return scan;
        }

        if ((RequiredId(element, "event_id", eventId) ?? RequiredId(element, "room_id", roomId) ?? RequiredId(element, "type", type)) is { } missing)
        {
            return missing;
        }

        if ((OptionalId(element, "sender") ?? OptionalId(element, "state_key")) is { } bad)
        {
            return bad;
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

        int size = Utf8Length(element);
        if (unsigned.ValueKind != JsonValueKind.Undefined)
        {
            // Stripped state and prev_content ride in unsigned; the spec's limit is on the event itself.
            size -= Utf8Length(unsigned);
        }

        if (size > maxEventBytes)
        {
            return new(RejectionCodes.TooLarge, $"event is {size} bytes, over the {maxEventBytes}-byte limit");
        }

        bool isState = MatrixText.TryGetProperty(element, "state_key", out _);
        return ContentRules.Check(type!, isState, content);
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

        return Utf8Bytes(text) > 255 ? new(RejectionCodes.TooLarge, $"'{label}' longer than 255 bytes") : null;
    }

    /// <summary>
    /// One forward pass over the event's raw JSON, only when it could matter (more than <see cref="MaxEventDepth"/>
    /// brackets, or any escape): nesting deeper than <see cref="MaxEventDepth"/>, and property names holding U+0000 or
    /// invalid UTF-16 (they make property lookups throw). Iterative: the reader tracks the depth, nothing recurses.
    /// Also applied to the resync's /state and /members entries (Homeserver/Snapshots), which the projectors read alike.
    /// </summary>
    internal static Rejection? Scan(JsonElement element)
    {
        ReadOnlySpan<byte> raw = JsonMarshal.GetRawUtf8Value(element);
        bool escaped = raw.IndexOf((byte)'\\') >= 0;
        if (!escaped && raw.Count((byte)'{') + raw.Count((byte)'[') <= MaxEventDepth)
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

            if (escaped && reader.TokenType == JsonTokenType.PropertyName && reader.ValueIsEscaped
                && !MatrixText.IsValid(MatrixText.Unescape(reader.ValueSpan)))
            {
                return new(RejectionCodes.InvalidString, "a property name holds U+0000 or invalid UTF-16");
            }
        }

        return null;
    }

    private static int Utf8Length(JsonElement element) => JsonMarshal.GetRawUtf8Value(element).Length;

    private static int Utf8Bytes(string value) => Encoding.UTF8.GetByteCount(value);

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>A property's string value, null if absent or not a string. Never throws (<see cref="MatrixText.Get"/>).</summary>
    internal static string? OptionalString(JsonElement element, string name) => MatrixText.Get(element, name);
}
