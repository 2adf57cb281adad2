using System.Globalization;
using System.Text;

namespace AppService.Observability;

/// <summary>
/// A string parameter of a log message, written single-line and bounded. Every <c>[LoggerMessage]</c> string
/// parameter has this type (a test holds every one to it): ids, types, reasons, errors and paths can come from the
/// homeserver or a request (a room id may hold a newline, a rejection reason quotes a membership value), and a raw
/// newline in them would forge a log line in any formatter that writes the message as it is (systemd, plain files,
/// JSON consumers that split on lines). Strings convert implicitly, so call sites pass them as before; the
/// text is escaped only when a message is written.
/// <list type="bullet">
/// <item>Control characters (C0, DEL, C1), U+2028/U+2029, the bidirectional overrides and isolates, and lone
/// surrogates are written as <c>\uXXXX</c> (<c>\n</c>, <c>\r</c>, <c>\t</c> as those two characters), and a
/// backslash as <c>\\</c>, so an escape in the log always means an escape was made.</item>
/// <item>At most <see cref="MaxLength"/> characters of the value are written, then <c>…(+N)</c>.</item>
/// </list>
/// </summary>
public readonly struct LogText(string? value) : IEquatable<LogText>
{
    /// <summary>The most characters of a value written to a log message (an id is at most 255 bytes).</summary>
    public const int MaxLength = 512;

    public string? Value { get; } = value;

    public static implicit operator LogText(string? value) => new(value);

    public static LogText FromString(string? value) => new(value);

    /// <summary>The value as written in a log message: single-line, bounded; <c>(null)</c> for null.</summary>
    public override string ToString() => Value is null ? "(null)" : Safe(Value);

    /// <summary>The text single-line and at most <see cref="MaxLength"/> characters long (plus the escapes and the cut mark).</summary>
    public static string Safe(string value)
    {
        int length = Math.Min(value.Length, MaxLength);
        if (length == value.Length && !NeedsEscape(value))
        {
            return value;
        }

        var builder = new StringBuilder(length + 16);
        for (int i = 0; i < length; i++)
        {
            char c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                if (i + 1 >= length)
                {
                    length = i; // the pair does not fit: cut before it
                    break;
                }

                builder.Append(c).Append(value[++i]);
                continue;
            }

            switch (c)
            {
                case '\\': builder.Append(@"\\"); break;
                case '\n': builder.Append(@"\n"); break;
                case '\r': builder.Append(@"\r"); break;
                case '\t': builder.Append(@"\t"); break;
                default:
                    if (IsUnsafe(c))
                    {
                        builder.Append(@"\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        if (length < value.Length)
        {
            builder.Append("…(+").Append((value.Length - length).ToString(CultureInfo.InvariantCulture)).Append(')');
        }

        return builder.ToString();
    }

    private static bool NeedsEscape(string value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (c == '\\' || IsUnsafe(c))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A character that can break or disguise a log line (a lone surrogate here is one without its pair).</summary>
    private static bool IsUnsafe(char c) =>
        c < ' ' || (c >= '\u007F' && c <= '\u009F') || c is '\u2028' or '\u2029'
        || (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069') || char.IsSurrogate(c);

    public bool Equals(LogText other) => string.Equals(Value, other.Value, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is LogText other && Equals(other);

    public override int GetHashCode() => Value is null ? 0 : StringComparer.Ordinal.GetHashCode(Value);

    public static bool operator ==(LogText left, LogText right) => left.Equals(right);

    public static bool operator !=(LogText left, LogText right) => !left.Equals(right);
}
