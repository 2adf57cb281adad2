using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace AppService.Matrix;

/// <summary>
/// The top-level properties of an event that <see cref="EventReader"/> reads, found in one forward pass over the
/// object (issue 19: looking each up by name, sixteen scans of the object per event, was the service's top symbol).
/// Each is exactly what <see cref="MatrixText.TryGetProperty(JsonElement, ReadOnlySpan{byte}, out JsonElement)"/>
/// gives for its name, <c>default</c> (<see cref="JsonValueKind.Undefined"/>) when absent: the last of duplicate
/// names wins, and an escaped name (<c>"\u0065vent_id"</c>) is its unescaped self.
/// </summary>
/// <remarks>
/// A name whose escapes are not valid UTF-16 (a lone surrogate; <c>\u0000</c> is valid) makes a lookup by name
/// throw and fall back to comparing raw names, which answers differently depending on where that name stands and on
/// which name is looked up. An object holding one is therefore read by those lookups, one per name: its answers
/// stay what they were. No homeserver sends such a name at the top level of an event.
/// </remarks>
internal struct EventTopLevel
{
    public JsonElement EventId;
    public JsonElement RoomId;
    public JsonElement Type;
    public JsonElement Sender;
    public JsonElement StateKey;
    public JsonElement Content;
    public JsonElement Unsigned;
    public JsonElement OriginServerTs;
    public JsonElement Redacts;

    /// <summary>Reads an object's properties (the caller has checked it is one). Never throws.</summary>
    public static EventTopLevel Read(JsonElement element)
    {
        var top = new EventTopLevel();
        foreach (var property in element.EnumerateObject())
        {
            ReadOnlySpan<byte> name = JsonMarshal.GetRawUtf8PropertyName(property);
            if (name.IndexOf((byte)'\\') >= 0)
            {
                if (Unescaped(property) is not { } unescaped)
                {
                    return ByLookup(element);
                }

                name = unescaped;
            }

            top.Set(name, property.Value);
        }

        return top;
    }

    private void Set(ReadOnlySpan<byte> name, JsonElement value)
    {
        switch (name.Length)
        {
            case 4 when name.SequenceEqual("type"u8): Type = value; break;
            case 6 when name.SequenceEqual("sender"u8): Sender = value; break;
            case 7 when name.SequenceEqual("room_id"u8): RoomId = value; break;
            case 7 when name.SequenceEqual("content"u8): Content = value; break;
            case 7 when name.SequenceEqual("redacts"u8): Redacts = value; break;
            case 8 when name.SequenceEqual("event_id"u8): EventId = value; break;
            case 8 when name.SequenceEqual("unsigned"u8): Unsigned = value; break;
            case 9 when name.SequenceEqual("state_key"u8): StateKey = value; break;
            case 16 when name.SequenceEqual("origin_server_ts"u8): OriginServerTs = value; break;
        }
    }

    /// <summary>
    /// An escaped name unescaped to UTF-8, or null if its escapes are not valid UTF-16: <see cref="JsonProperty.Name"/>
    /// unescapes with the routine a lookup by name uses, and throws where it throws.
    /// </summary>
    private static byte[]? Unescaped(JsonProperty property)
    {
        try
        {
            return Encoding.UTF8.GetBytes(property.Name);
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static EventTopLevel ByLookup(JsonElement element) => new()
    {
        EventId = Lookup(element, "event_id"u8),
        RoomId = Lookup(element, "room_id"u8),
        Type = Lookup(element, "type"u8),
        Sender = Lookup(element, "sender"u8),
        StateKey = Lookup(element, "state_key"u8),
        Content = Lookup(element, "content"u8),
        Unsigned = Lookup(element, "unsigned"u8),
        OriginServerTs = Lookup(element, "origin_server_ts"u8),
        Redacts = Lookup(element, "redacts"u8),
    };

    private static JsonElement Lookup(JsonElement element, ReadOnlySpan<byte> name) =>
        MatrixText.TryGetProperty(element, name, out var value) ? value : default;
}
