using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AppService.Matrix;

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

    /// <summary>Validates one entry of <c>events</c> on its own (<see cref="EventReader"/>). Never throws, whatever the entry holds.</summary>
    public static MatrixEvent? ParseEvent(JsonElement element, int maxEventBytes, out RejectedEvent? rejected)
    {
        var reading = EventReader.Read(element, EventShape.Pushed(maxEventBytes));
        rejected = reading.Rejection is { } r ? Reject(element, reading, r, maxEventBytes) : null;
        return reading.Event;
    }

    /// <summary>The quarantine row: the ids the reader could read, the reason, the raw JSON cut at <paramref name="maxEventBytes"/>.</summary>
    private static RejectedEvent Reject(JsonElement element, EventReading reading, Rejection rejection, int maxEventBytes)
    {
        ReadOnlySpan<byte> raw = JsonMarshal.GetRawUtf8Value(element);
        return new RejectedEvent(reading.EventId, reading.RoomId, reading.Type, rejection.Code, MatrixText.Storable(rejection.Reason),
            MatrixText.CutUtf8(raw, maxEventBytes), raw.Length);
    }

    /// <summary>A property's string value, null if absent or not a string. Never throws (<see cref="MatrixText.Get"/>).</summary>
    internal static string? OptionalString(JsonElement element, string name) => MatrixText.Get(element, name);
}
