using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace AppService.Simulator.Workload;

/// <summary>
/// Strings as the service must treat them (issue 8): JSON may carry U+0000 and lone surrogate escapes, which
/// PostgreSQL text cannot hold and .NET's <c>GetString()</c> refuses. Ids and keys holding them make the event
/// rejected; display values are stored with U+0000 removed and every lone surrogate replaced by U+FFFD.
/// </summary>
internal static class JsonStrings
{
    /// <summary>Deeper content than this is rejected (too_deep).</summary>
    public const int MaxContentDepth = 1024;

    /// <summary>Parsing options for the oracle: deep enough for any content the simulator sends.</summary>
    public static readonly JsonDocumentOptions Deep = new() { MaxDepth = 100_000 };

    /// <summary>The string value, lone surrogates kept as unpaired chars (never throws).</summary>
    public static string Decode(JsonElement value)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return Unescape(JsonMarshal.GetRawUtf8Value(value));
        }
    }

    private static string Unescape(ReadOnlySpan<byte> quoted)
    {
        var inner = quoted[1..^1];
        var sb = new StringBuilder(inner.Length);
        int i = 0;
        while (i < inner.Length)
        {
            if (inner[i] != (byte)'\\')
            {
                int run = inner[i..].IndexOf((byte)'\\');
                run = run < 0 ? inner.Length - i : run;
                sb.Append(Encoding.UTF8.GetString(inner.Slice(i, run)));
                i += run;
                continue;
            }

            char c = (char)inner[i + 1];
            if (c == 'u')
            {
                sb.Append((char)Convert.ToInt32(Encoding.ASCII.GetString(inner.Slice(i + 2, 4)), 16));
                i += 6;
                continue;
            }

            sb.Append(c switch { 'n' => '\n', 'r' => '\r', 't' => '\t', 'b' => '\b', 'f' => '\f', _ => c });
            i += 2;
        }

        return sb.ToString();
    }

    /// <summary>Whether the string holds U+0000 or an unpaired surrogate.</summary>
    public static bool IsPoisoned(string value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c == '\0')
            {
                return true;
            }

            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A display value as stored: U+0000 removed, lone surrogates replaced by U+FFFD.</summary>
    public static string Sanitize(string value)
    {
        if (!IsPoisoned(value))
        {
            return value;
        }

        var sb = new StringBuilder(value.Length);
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c == '\0')
            {
                continue;
            }

            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                sb.Append(c).Append(value[++i]);
            }
            else
            {
                sb.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }

        return sb.ToString();
    }

    /// <summary>An event id the service can key on: no U+0000, no lone surrogate, at most 255 bytes (spec).</summary>
    public static bool IsUsableId(string? id) =>
        !string.IsNullOrEmpty(id) && !IsPoisoned(id) && Encoding.UTF8.GetByteCount(id) <= 255;

    /// <summary>How deep a JSON value nests (a scalar is 0, <c>{}</c> is 1).</summary>
    public static int Depth(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 100_000 });
        int max = 0;
        while (reader.Read())
        {
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                max = Math.Max(max, reader.CurrentDepth + 1);
            }
        }

        return max;
    }
}
