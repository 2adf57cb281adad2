using System.Buffers;
using System.Text.Json;

namespace AppService.Simulator.Workload;

/// <summary>How an event is rendered in a transaction body.</summary>
internal enum SendVariant
{
    /// <summary>First send: <c>unsigned.prev_content</c> and <c>prev_sender</c> included.</summary>
    First,

    /// <summary>Synapse retry (facts §2.4): events re-fetched, so <c>prev_content</c> is missing, <c>age</c>
    /// recomputed and events redacted in the meantime arrive redacted.</summary>
    SynapseRetry,
}

/// <summary>Writes ClientEvents and transaction bodies with <see cref="Utf8JsonWriter"/> (no DOM, no reflection).</summary>
internal static class EventSerializer
{
    public static byte[] SerializeTransaction(IReadOnlyList<SimEvent> events, SendVariant variant, bool redactStateToo = false)
    {
        var buffer = new ArrayBufferWriter<byte>(Math.Max(256, events.Count * 400));
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("events");
            foreach (var e in events)
            {
                WriteEvent(writer, e, variant, includeUnsigned: true, redactStateToo);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Bytes of the event's JSON without <c>unsigned</c>: what the 64 KiB limit is measured on.</summary>
    public static int SizeWithoutUnsigned(SimEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>(Math.Max(256, e.Content.Length + 256));
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            WriteEvent(writer, e, SendVariant.First, includeUnsigned: false, redactStateToo: false);
        }
        return buffer.WrittenCount;
    }

    public static byte[] Serialize(SimEvent e, SendVariant variant = SendVariant.First)
    {
        var buffer = new ArrayBufferWriter<byte>(Math.Max(256, e.Content.Length + 256));
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            WriteEvent(writer, e, variant, includeUnsigned: true, redactStateToo: false);
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteEvent(Utf8JsonWriter w, SimEvent e, SendVariant variant, bool includeUnsigned, bool redactStateToo)
    {
        var retry = variant == SendVariant.SynapseRetry;
        var redacted = retry && e.RedactedByIndex is not null && (!e.IsState || redactStateToo);
        w.WriteStartObject();
        if (e.RawEventIdJson is not null)
        {
            w.WritePropertyName("event_id"u8);
            w.WriteRawValue(e.RawEventIdJson, skipInputValidation: true);
        }
        else if (e.EventId is not null)
        {
            w.WriteString("event_id"u8, e.EventId);
        }
        if (e.RoomId is not null)
        {
            w.WriteString("room_id"u8, e.RoomId);
        }
        if (e.Type is not null)
        {
            w.WriteString("type"u8, e.Type);
        }
        w.WriteString("sender"u8, e.Sender);
        w.WriteNumber("origin_server_ts"u8, e.OriginServerTs);
        if (e.RawStateKeyJson is not null)
        {
            w.WritePropertyName("state_key"u8);
            w.WriteRawValue(e.RawStateKeyJson, skipInputValidation: true);
        }
        else if (e.StateKey is not null)
        {
            w.WriteString("state_key"u8, e.StateKey);
        }
        if (e.Redacts is not null)
        {
            w.WriteString("redacts"u8, e.Redacts); // Synapse writes it top-level and in content (facts §4.6)
        }
        w.WritePropertyName("content"u8);
        w.WriteRawValue(redacted ? Json.EmptyObject : e.Content, skipInputValidation: true);
        if (includeUnsigned)
        {
            w.WriteStartObject("unsigned"u8);
            w.WriteNumber("age"u8, 50 + (e.Index & 1023) + (retry ? 60_000 : 0));
            if (!retry && e.PrevContent is not null)
            {
                w.WritePropertyName("prev_content"u8);
                w.WriteRawValue(e.PrevContent, skipInputValidation: true);
                if (e.PrevSender is not null)
                {
                    w.WriteString("prev_sender"u8, e.PrevSender);
                }
            }
            if (e.ReplacesState is not null)
            {
                w.WriteString("replaces_state"u8, e.ReplacesState);
            }
            if (e.InviteRoomState is not null)
            {
                w.WritePropertyName("invite_room_state"u8);
                w.WriteRawValue(e.InviteRoomState, skipInputValidation: true);
            }
            if (e.SoftFailed)
            {
                w.WriteBoolean("io.element.synapse.soft_failed"u8, true);
            }
            if (redacted)
            {
                w.WriteStartObject("redacted_because"u8);
                w.WriteString("type"u8, "m.room.redaction");
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
