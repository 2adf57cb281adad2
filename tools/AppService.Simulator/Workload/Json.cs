using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AppService.Simulator.Workload;

/// <summary>Builds small raw JSON values (event content) without a DOM, so a large workload stays compact.</summary>
internal static class Json
{
    /// <summary>Like Synapse (ensure_ascii off): UTF-8 as is, only what JSON requires escaped.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A JSON object from key/value pairs; values may be string, null, bool, int, long, string[],
    /// <see cref="RawJson"/> or a nested <c>(string, object?)[]</c>.</summary>
    public static byte[] Object(params (string Key, object? Value)[] properties)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            WriteObject(writer, properties);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A JSON array of raw values.</summary>
    public static byte[] Array(IEnumerable<byte[]> rawItems)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartArray();
            foreach (var item in rawItems)
            {
                writer.WriteRawValue(item, skipInputValidation: true);
            }
            writer.WriteEndArray();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static readonly byte[] EmptyObject = "{}"u8.ToArray();

    private static void WriteObject(Utf8JsonWriter writer, (string Key, object? Value)[] properties)
    {
        writer.WriteStartObject();
        foreach (var (key, value) in properties)
        {
            writer.WritePropertyName(key);
            WriteValue(writer, value);
        }
        writer.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null: writer.WriteNullValue(); break;
            case string s: writer.WriteStringValue(s); break;
            case bool b: writer.WriteBooleanValue(b); break;
            case int i: writer.WriteNumberValue(i); break;
            case long l: writer.WriteNumberValue(l); break;
            case RawJson raw: writer.WriteRawValue(raw.Utf8, skipInputValidation: true); break;
            case string[] items:
                writer.WriteStartArray();
                foreach (var item in items)
                {
                    writer.WriteStringValue(item);
                }
                writer.WriteEndArray();
                break;
            case (string, object?)[] nested: WriteObject(writer, nested); break;
            default: throw new ArgumentException($"unsupported JSON value type {value.GetType()}", nameof(value));
        }
    }
}

/// <summary>An already serialised JSON value embedded as is.</summary>
internal sealed record RawJson(byte[] Utf8);
