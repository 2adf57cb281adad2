using System.Text;
using System.Text.Json;

namespace AppService.Matrix;

/// <summary>
/// JsonDocument's parse costs O(size × nesting depth) (closing a container scans back over its rows): a 256 KiB
/// <c>[[[…]]]</c> takes ~25 s, 32 MiB would take hours. So the body is parsed with a depth limit just above what an
/// accepted event can need, and only when that fails, <see cref="Flatten"/> walks it once with Utf8JsonReader (linear)
/// and overwrites, in place, every entry of <c>events</c> nesting deeper than <see cref="EventReader.MaxEventDepth"/>
/// (and any other top-level value as deep) with <c>0</c> padded by spaces. The events' text is kept first, to be
/// rejected as <c>too_deep</c>: one deep event never fails the body, and the happy path pays nothing.
/// </summary>
public static class DeepValues
{
    /// <summary>Containers a body of allowed events needs: the root object, the events array, the event's own.</summary>
    public const int BodyMaxDepth = EventReader.MaxEventDepth + 2;

    /// <summary>Flattens too-deep values in place; returns the too-deep events by index. Throws JsonException on invalid JSON.</summary>
    public static Dictionary<int, RejectedEvent> Flatten(Span<byte> body, int maxEventBytes)
    {
        var tooDeep = new Dictionary<int, RejectedEvent>();
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = int.MaxValue });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            while (reader.Read())
            {
                // validate the rest: invalid JSON is M_NOT_JSON, a valid non-object M_BAD_JSON (the parser says so)
            }

            return tooDeep;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isEvents = NameIs(ref reader, "events"u8);
            reader.Read();
            if (isEvents && reader.TokenType == JsonTokenType.StartArray)
            {
                // A body naming "events" twice: the parser reads the last one (as JsonElement does), so only the
                // last array's indexes may stand.
                tooDeep.Clear();
                int index = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    int start = (int)reader.TokenStartIndex;
                    var ids = new string?[3];
                    bool deep = SkipValue(ref reader, ids);
                    int end = (int)reader.BytesConsumed;
                    if (deep)
                    {
                        var raw = body[start..end];
                        tooDeep[index] = new RejectedEvent(ids[0], ids[1], ids[2], RejectionCodes.TooDeep,
                            $"event nests deeper than {EventReader.MaxEventDepth} levels", MatrixText.CutUtf8(raw, maxEventBytes), raw.Length);
                        Blank(raw);
                    }

                    index++;
                }
            }
            else
            {
                int start = (int)reader.TokenStartIndex;
                if (SkipValue(ref reader, null))
                {
                    Blank(body[start..(int)reader.BytesConsumed]);
                }
            }
        }

        return tooDeep;
    }

    /// <summary>Reads to the end of the current value; whether it nests deeper than an event may; the event's ids.</summary>
    private static bool SkipValue(ref Utf8JsonReader reader, string?[]? ids)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return false;
        }

        int depth = reader.CurrentDepth;
        bool deep = false;
        int id = -1;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            deep |= reader.CurrentDepth - depth >= EventReader.MaxEventDepth; // as EventReader.Scan counts
            if (ids is null || reader.CurrentDepth != depth + 1)
            {
                continue;
            }

            if (reader.TokenType == JsonTokenType.PropertyName)
            {
                id = NameIs(ref reader, "event_id"u8) ? 0 : NameIs(ref reader, "room_id"u8) ? 1 : NameIs(ref reader, "type"u8) ? 2 : -1;
            }
            else if (id >= 0 && reader.TokenType == JsonTokenType.String)
            {
                ids[id] = reader.ValueIsEscaped ? MatrixText.Unescape(reader.ValueSpan) : Encoding.UTF8.GetString(reader.ValueSpan);
                id = -1;
            }
        }

        return deep;
    }

    /// <summary>
    /// Compares a property name without throwing: ValueTextEquals unescapes, and throws on a lone-surrogate escape
    /// (<c>"\ud800"</c>), which can never equal an ASCII name anyway.
    /// </summary>
    private static bool NameIs(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan.SequenceEqual(name);
        }

        try
        {
            return reader.ValueTextEquals(name);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void Blank(Span<byte> value)
    {
        value.Fill((byte)' ');
        value[0] = (byte)'0';
    }
}
