namespace AppService.IntegrationTests.Infrastructure;

/// <summary>
/// ClientEvents and transaction bodies as raw JSON text, for bodies no JSON writer would produce: every argument is
/// already JSON string content, so escapes such as <c>\u0000</c> or <c>\ud800</c> are sent exactly as written.
/// </summary>
public static class RawEvents
{
    public static string Event(string id, string room, string type, string? stateKey, string content, string sender = Events.Alice,
        string? unsignedJson = null, long ts = 1_795_000_000_000) =>
        "{\"event_id\":\"" + id + "\",\"room_id\":\"" + room + "\",\"type\":\"" + type + "\",\"sender\":\"" + sender + "\""
        + (stateKey is null ? "" : ",\"state_key\":\"" + stateKey + "\"")
        + ",\"origin_server_ts\":" + ts.ToString(System.Globalization.CultureInfo.InvariantCulture) + ",\"content\":" + content
        + (unsignedJson is null ? "" : ",\"unsigned\":" + unsignedJson) + "}";

    /// <summary>A transaction body holding <paramref name="events"/> (each raw JSON) in its events array.</summary>
    public static string Body(params string[] events) => "{\"events\":[" + string.Join(',', events) + "]}";
}
