using System.Text;

namespace AppService.IntegrationTests.Fuzz;

/// <summary>
/// A JSON tree kept as raw text, so a mutation can put anything anywhere (an escape, a duplicate key, bytes that are
/// not UTF-8) and the body is sent exactly as built, never re-serialised. A scalar is its raw JSON text (a string
/// with its quotes); a key is its raw string literal with quotes.
/// </summary>
public abstract class RawNode
{
    public abstract RawNode Clone();

    public abstract void Write(StringBuilder sb);

    public static RawText Str(string value) => new(Quote(value));

    public static RawText Num(long value) => new(value.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>A JSON string literal of plain text (only the escapes JSON requires).</summary>
    public static string Quote(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case < ' ': sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture)); break;
                default: sb.Append(c); break;
            }
        }

        return sb.Append('"').ToString();
    }

    /// <summary>
    /// The body's bytes: UTF-8, except that the characters U+E000..U+E0FF stand for the single raw byte 0x00..0xFF
    /// (how invalid UTF-8 gets into a tree of .NET strings). Generators never use that range for text.
    /// </summary>
    public static byte[] Encode(string text)
    {
        var bytes = new List<byte>(text.Length + 16);
        Span<byte> buffer = stackalloc byte[4];
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c is >= '\uE000' and <= '\uE0FF')
            {
                bytes.Add((byte)(c - 0xE000));
                continue;
            }

            int length = char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])
                ? Encoding.UTF8.GetBytes(text.AsSpan(i++, 2), buffer)
                : Encoding.UTF8.GetBytes(text.AsSpan(i, 1), buffer);
            for (int j = 0; j < length; j++)
            {
                bytes.Add(buffer[j]);
            }
        }

        return bytes.ToArray();
    }

    /// <summary>The marker string for raw bytes (see <see cref="Encode"/>).</summary>
    public static string RawBytes(params byte[] bytes) => new(bytes.Select(b => (char)(0xE000 + b)).ToArray());

    public string ToJsonText()
    {
        var sb = new StringBuilder();
        Write(sb);
        return sb.ToString();
    }
}

public sealed class RawText(string json) : RawNode
{
    public string Json { get; set; } = json;

    public bool IsString => Json.StartsWith('"');

    public override RawNode Clone() => new RawText(Json);

    public override void Write(StringBuilder sb) => sb.Append(Json);
}

public sealed class RawMember(string key, RawNode value)
{
    /// <summary>The raw key literal, with quotes.</summary>
    public string Key { get; set; } = key;

    public RawNode Value { get; set; } = value;
}

public sealed class RawObject : RawNode
{
    public List<RawMember> Members { get; } = [];

    /// <summary>For a generated event: the event_id it was built with (mutations may change or remove it).</summary>
    public string? OriginalId { get; set; }

    public RawObject Add(string name, RawNode value)
    {
        Members.Add(new RawMember(Quote(name), value));
        return this;
    }

    public RawMember? Find(string name) => Members.LastOrDefault(m => m.Key == Quote(name));

    public override RawNode Clone()
    {
        var copy = new RawObject();
        foreach (var m in Members)
        {
            copy.Members.Add(new RawMember(m.Key, m.Value.Clone()));
        }

        return copy;
    }

    public override void Write(StringBuilder sb)
    {
        sb.Append('{');
        for (int i = 0; i < Members.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append(Members[i].Key).Append(':');
            Members[i].Value.Write(sb);
        }

        sb.Append('}');
    }
}

public sealed class RawArray : RawNode
{
    public List<RawNode> Items { get; } = [];

    public override RawNode Clone()
    {
        var copy = new RawArray();
        copy.Items.AddRange(Items.Select(i => i.Clone()));
        return copy;
    }

    public override void Write(StringBuilder sb)
    {
        sb.Append('[');
        for (int i = 0; i < Items.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            Items[i].Write(sb);
        }

        sb.Append(']');
    }
}
