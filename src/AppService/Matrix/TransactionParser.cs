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

    public static ParsedTransaction Parse(JsonDocument document, int maxEventBytes)
    {
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new TransactionBodyException(MatrixError.Codes.BadJson, "The transaction body must be a JSON object.");
        }

        if (!root.TryGetProperty("events", out var events))
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
        foreach (var element in events.EnumerateArray())
        {
            var parsed = ParseEvent(element, maxEventBytes, out var rejected);
            if (parsed is not null)
            {
                result.Events.Add(parsed);
                hash.AppendData(Encoding.UTF8.GetBytes(parsed.EventId));
            }
            else
            {
                result.Rejected.Add(rejected!);
                hash.AppendData(Encoding.UTF8.GetBytes(rejected!.EventId ?? rejected.RawJson));
            }

            hash.AppendData(separator);
        }

        result.ContentHash = hash.GetHashAndReset();
        result.EphemeralCount = CountEphemeral(root);
        if (root.TryGetProperty("de.sorunome.msc2409.to_device", out var toDevice) && toDevice.ValueKind == JsonValueKind.Array)
        {
            result.ToDeviceCount = toDevice.GetArrayLength();
        }

        foreach (var property in root.EnumerateObject())
        {
            if (property.Name.StartsWith("org.matrix.msc3202.", StringComparison.Ordinal))
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
            if (!root.TryGetProperty(key, out var list) || list.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            seen ??= new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in list.EnumerateArray())
            {
                if (seen.Add(item.GetRawText()))
                {
                    count++;
                }
            }
        }

        return count;
    }

    public static MatrixEvent? ParseEvent(JsonElement element, int maxEventBytes, out RejectedEvent? rejected)
    {
        rejected = null;
        if (element.ValueKind != JsonValueKind.Object)
        {
            rejected = new RejectedEvent(null, null, null, "event is not a JSON object", element.GetRawText());
            return null;
        }

        // An empty id is no id: the rejection is stored without one, and hashed by its raw JSON.
        string? eventId = NullIfEmpty(OptionalString(element, "event_id"));
        string? roomId = NullIfEmpty(OptionalString(element, "room_id"));
        string? type = NullIfEmpty(OptionalString(element, "type"));

        string? reason = Validate(element, eventId, roomId, type, maxEventBytes);
        if (reason is not null)
        {
            rejected = new RejectedEvent(eventId, roomId, type, reason, element.GetRawText());
            return null;
        }

        element.TryGetProperty("content", out var content);
        element.TryGetProperty("state_key", out var stateKey);
        JsonElement? unsigned = element.TryGetProperty("unsigned", out var u) && u.ValueKind == JsonValueKind.Object ? u : null;
        long? ts = element.TryGetProperty("origin_server_ts", out var t) && t.ValueKind == JsonValueKind.Number && t.TryGetInt64(out long tsValue)
            ? tsValue
            : null;

        // v1-v10 put 'redacts' at the top level, v11+ in content; servers copy it to both places.
        string? redacts = null;
        if (type == EventTypes.Redaction)
        {
            redacts = OptionalString(element, "redacts") ?? OptionalString(content, "redacts");
        }

        return new MatrixEvent(
            eventId!,
            roomId!,
            type!,
            OptionalString(element, "sender") ?? "",
            stateKey.ValueKind == JsonValueKind.String ? stateKey.GetString() : null,
            ts,
            content,
            unsigned,
            redacts);
    }

    private static string? Validate(JsonElement element, string? eventId, string? roomId, string? type, int maxEventBytes)
    {
        if (string.IsNullOrEmpty(eventId))
        {
            return "missing or empty 'event_id'";
        }

        if (string.IsNullOrEmpty(roomId))
        {
            return "missing or empty 'room_id'";
        }

        if (string.IsNullOrEmpty(type))
        {
            return "missing or empty 'type'";
        }

        // Spec: ids, type and state_key are at most 255 bytes.
        if (Utf8Bytes(eventId) > 255 || Utf8Bytes(roomId) > 255 || Utf8Bytes(type) > 255)
        {
            return "'event_id', 'room_id' or 'type' longer than 255 bytes";
        }

        if (element.TryGetProperty("sender", out var sender) && sender.ValueKind != JsonValueKind.String)
        {
            return "'sender' is not a string";
        }

        if (!element.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Object)
        {
            return "missing 'content' or 'content' is not an object";
        }

        if (element.TryGetProperty("state_key", out var stateKey) && stateKey.ValueKind != JsonValueKind.String)
        {
            return "'state_key' is not a string";
        }

        if (stateKey.ValueKind == JsonValueKind.String && Utf8Bytes(stateKey.GetString()!) > 255)
        {
            return "'state_key' longer than 255 bytes";
        }

        int size = Utf8Length(element);
        if (element.TryGetProperty("unsigned", out var unsigned))
        {
            // Stripped state and prev_content ride in unsigned; the spec's limit is on the event itself.
            size -= Utf8Length(unsigned);
        }

        if (size > maxEventBytes)
        {
            return $"event is {size} bytes, over the {maxEventBytes}-byte limit";
        }

        return ContentRules.Check(type, stateKey.ValueKind == JsonValueKind.String, content);
    }

    private static int Utf8Length(JsonElement element) => JsonMarshal.GetRawUtf8Value(element).Length;

    private static int Utf8Bytes(string value) => Encoding.UTF8.GetByteCount(value);

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    internal static string? OptionalString(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object
        && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
