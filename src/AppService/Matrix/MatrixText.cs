using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AppService.Matrix;

/// <summary>
/// The one rule for text that reaches PostgreSQL (README "Input safety"). PostgreSQL text and jsonb cannot hold
/// U+0000, and UTF-8 cannot hold a lone surrogate, yet JSON can carry both as escapes ("\u0000", "\ud800").
/// <list type="bullet">
/// <item>Ids and keys (event_id, room_id, type, state_key, sender, redacts, membership, unsigned.replaces_state, the
/// ids of a /state or /members entry): holding U+0000 or invalid UTF-16 makes the event rejected
/// (<c>invalid_string</c>) or the snapshot entry skipped. Changing an id would make it another id.</item>
/// <item>Display and content values the projections store (displayname, name, topic, alias, url, ...): stored with
/// U+0000 removed and lone surrogates replaced by U+FFFD (<see cref="Clean"/>). Synapse does the same kind of
/// thing (it stores NULL for a displayname holding U+0000); dropping the whole membership would be worse.</item>
/// <item>Property names: one holding U+0000 or invalid UTF-16 is never a name we look up, so it is ignored, never a
/// reason to reject (<see cref="TryGetProperty"/> never throws on it); where names are read as user ids (power levels'
/// <c>users</c>, <c>/joined_members</c>) such an entry is left out: no sender can have that id.</item>
/// <item>Rejected events keep their raw JSON text, in which both stay escaped (valid JSON text never holds a raw NUL
/// byte), cut at <c>MaxEventBytes</c>; their ids are made storable by <see cref="StorableId"/>.</item>
/// </list>
/// Reading never throws: <see cref="Read"/> unescapes the raw UTF-8 itself where <c>JsonElement.GetString</c> would
/// throw on a lone surrogate. The common case (no backslash in the raw value) costs one UTF-8 decode.
/// </summary>
public static class MatrixText
{
    /// <summary>The string value of a JSON string element, exactly as sent (lone surrogates kept); never throws.</summary>
    public static string Read(JsonElement value)
    {
        ReadOnlySpan<byte> raw = JsonMarshal.GetRawUtf8Value(value);
        raw = raw.Length >= 2 && raw[0] == (byte)'"' ? raw[1..^1] : raw;
        return raw.IndexOf((byte)'\\') < 0 ? Encoding.UTF8.GetString(raw) : Unescape(raw);
    }

    /// <summary>A property's string value (null if absent or not a string); never throws, even on bad property names.</summary>
    public static string? Get(JsonElement element, string name) =>
        TryGetProperty(element, name, out var value) && value.ValueKind == JsonValueKind.String ? Read(value) : null;

    /// <summary><see cref="Get(JsonElement, string)"/> by a UTF-8 name (<c>"membership"u8</c>): nothing transcoded per call.</summary>
    public static string? Get(JsonElement element, ReadOnlySpan<byte> utf8Name) =>
        TryGetProperty(element, utf8Name, out var value) && value.ValueKind == JsonValueKind.String ? Read(value) : null;

    /// <summary>
    /// <c>TryGetProperty</c> that never throws: a property name whose escapes are invalid UTF-16 makes the lookup
    /// throw, so fall back to a scan comparing raw names (an escaped name never equals the plain ones we look up).
    /// </summary>
    public static bool TryGetProperty(JsonElement element, string name, out JsonElement value)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            value = default;
            return false;
        }

        try
        {
            return element.TryGetProperty(name, out value);
        }
        catch (InvalidOperationException)
        {
            return LastWithRawName(element, Encoding.UTF8.GetBytes(name), out value);
        }
    }

    /// <summary>
    /// <see cref="TryGetProperty(JsonElement, string, out JsonElement)"/> by a UTF-8 name (<c>"content"u8</c>), the
    /// same answer for the same name: the string overload transcodes its name to UTF-8 on every call, this one does not.
    /// </summary>
    public static bool TryGetProperty(JsonElement element, ReadOnlySpan<byte> utf8Name, out JsonElement value)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            value = default;
            return false;
        }

        try
        {
            return element.TryGetProperty(utf8Name, out value);
        }
        catch (InvalidOperationException)
        {
            return LastWithRawName(element, utf8Name, out value);
        }
    }

    /// <summary>The fallback of <see cref="TryGetProperty(JsonElement, string, out JsonElement)"/>: the last property whose raw name is the name.</summary>
    private static bool LastWithRawName(JsonElement element, ReadOnlySpan<byte> utf8Name, out JsonElement value)
    {
        bool found = false;
        value = default;
        foreach (var property in element.EnumerateObject())
        {
            if (JsonMarshal.GetRawUtf8PropertyName(property).SequenceEqual(utf8Name))
            {
                value = property.Value; // last one wins, as TryGetProperty does with duplicates
                found = true;
            }
        }

        return found;
    }

    /// <summary>A display value made storable (<see cref="Clean"/>), null if absent or not a string.</summary>
    public static string? Display(JsonElement element, string name) => Get(element, name) is { } value ? Clean(value) : null;

    /// <summary><see cref="Display(JsonElement, string)"/> by a UTF-8 name (<c>"displayname"u8</c>).</summary>
    public static string? Display(JsonElement element, ReadOnlySpan<byte> utf8Name) => Get(element, utf8Name) is { } value ? Clean(value) : null;

    /// <summary>Whether an id or key can be stored as sent: no U+0000 and well-formed UTF-16.</summary>
    public static bool IsValid(string value) => !value.Contains('\0') && IsWellFormed(value);

    /// <summary>U+0000 removed and lone surrogates replaced by U+FFFD; the same instance when nothing changes.</summary>
    public static string Clean(string value)
    {
        if (IsValid(value))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length);
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c == '\0')
            {
                continue;
            }

            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                builder.Append(c).Append(value[++i]);
            }
            else
            {
                builder.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }

        return builder.ToString();
    }

    /// <summary>
    /// An id of a rejected event made storable: U+0000 as the six characters <c>\u0000</c>, lone surrogates as
    /// U+FFFD, and anything over 255 UTF-8 bytes as <c>sha256:&lt;hex&gt;</c> of its UTF-16 code units, so the
    /// unique index never overflows.
    /// </summary>
    public static string? StorableId(string? value)
    {
        if (value is null)
        {
            return null;
        }

        string text = Storable(value);
        if (Encoding.UTF8.GetByteCount(text) <= 255)
        {
            return text;
        }

        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(value.AsSpan())));
    }

    /// <summary>Free text made storable (U+0000 as the six characters <c>\u0000</c>, lone surrogates as U+FFFD).</summary>
    public static string Storable(string value) =>
        IsValid(value) ? value : Clean(value.Replace("\0", "\\u0000", StringComparison.Ordinal));

    /// <summary>A property's name as sent (lone surrogates kept); never throws.</summary>
    public static string Name(JsonProperty property)
    {
        ReadOnlySpan<byte> raw = JsonMarshal.GetRawUtf8PropertyName(property);
        return raw.IndexOf((byte)'\\') < 0 ? Encoding.UTF8.GetString(raw) : Unescape(raw);
    }

    /// <summary>At most <paramref name="maxBytes"/> bytes of valid UTF-8, cut at a character boundary.</summary>
    public static string CutUtf8(ReadOnlySpan<byte> utf8, int maxBytes)
    {
        if (utf8.Length > maxBytes)
        {
            int end = maxBytes;
            while (end > 0 && (utf8[end] & 0xC0) == 0x80)
            {
                end--; // utf8[end] is a continuation byte: the character starting before it does not fit
            }

            utf8 = utf8[..end];
        }

        return Encoding.UTF8.GetString(utf8);
    }

    private static bool IsWellFormed(string value)
    {
        int i = value.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (i < 0)
        {
            return true;
        }

        for (; i < value.Length; i++)
        {
            char c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>JSON string unescaping that keeps lone surrogates as chars instead of throwing.</summary>
    public static string Unescape(ReadOnlySpan<byte> raw)
    {
        var builder = new StringBuilder(raw.Length);
        int start = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] != (byte)'\\')
            {
                continue;
            }

            builder.Append(Encoding.UTF8.GetString(raw[start..i]));
            if (i + 1 >= raw.Length)
            {
                start = raw.Length;
                break;
            }

            byte escape = raw[++i];
            switch (escape)
            {
                case (byte)'u' when i + 4 < raw.Length
                    && ushort.TryParse(Encoding.ASCII.GetString(raw.Slice(i + 1, 4)), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ushort code):
                    builder.Append((char)code);
                    i += 4;
                    break;
                case (byte)'b': builder.Append('\b'); break;
                case (byte)'f': builder.Append('\f'); break;
                case (byte)'n': builder.Append('\n'); break;
                case (byte)'r': builder.Append('\r'); break;
                case (byte)'t': builder.Append('\t'); break;
                default: builder.Append((char)escape); break; // '"', '\\', '/'
            }

            start = i + 1;
        }

        builder.Append(Encoding.UTF8.GetString(raw[start..]));
        return builder.ToString();
    }
}
