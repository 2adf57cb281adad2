using System.Text.Json;
using AppService.Matrix;
using AppService.Projections;

namespace AppService.Homeserver;

/// <summary>State events of one room as the homeserver answered them, and how many entries were unusable.</summary>
public sealed record StateSnapshot(IReadOnlyList<MatrixEvent> Events, int Skipped);

/// <summary>
/// Reads the client-server answers a resync and a drift check use. The homeserver is trusted about its own
/// state, but an entry we cannot read is skipped (and counted), never allowed to break the whole snapshot.
/// </summary>
public static class Snapshots
{
    /// <summary><c>GET /rooms/{roomId}/members</c>: <c>{"chunk": [m.room.member ClientEvent, ...]}</c>.</summary>
    public static StateSnapshot ParseMembers(JsonElement root, string roomId)
    {
        if (root.ValueKind != JsonValueKind.Object || !MatrixText.TryGetProperty(root, "chunk", out var chunk) || chunk.ValueKind != JsonValueKind.Array)
        {
            throw BadAnswer("/members", "an object with a 'chunk' array");
        }

        var snapshot = ParseStateEvents(chunk, roomId);
        var members = snapshot.Events.Where(e => e.Type == EventTypes.Member).ToList();
        return new StateSnapshot(members, snapshot.Skipped + snapshot.Events.Count - members.Count);
    }

    /// <summary><c>GET /rooms/{roomId}/state</c>: <c>[ClientEvent, ...]</c>, the room's current state.</summary>
    public static StateSnapshot ParseState(JsonElement root, string roomId) =>
        root.ValueKind == JsonValueKind.Array ? ParseStateEvents(root, roomId) : throw BadAnswer("/state", "an array of state events");

    /// <summary><c>GET /rooms/{roomId}/joined_members</c>: <c>{"joined": {"@u:hs": {"display_name", "avatar_url"}}}</c>.</summary>
    public static IReadOnlyDictionary<string, JoinedMember> ParseJoinedMembers(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !MatrixText.TryGetProperty(root, "joined", out var joined) || joined.ValueKind != JsonValueKind.Object)
        {
            throw BadAnswer("/joined_members", "an object with a 'joined' object");
        }

        var result = new Dictionary<string, JoinedMember>(StringComparer.Ordinal);
        foreach (var member in joined.EnumerateObject())
        {
            string userId = MatrixText.Name(member);
            if (MatrixText.IsValid(userId))
            {
                result[userId] = new JoinedMember(MatrixText.Display(member.Value, "display_name"), MatrixText.Display(member.Value, "avatar_url"));
            }
        }

        return result;
    }

    /// <summary>
    /// State events with an event_id, a type, a string state_key and an object content that passes our content
    /// rules. room_id may be absent (it is implied by the request) but must not name another room.
    /// </summary>
    public static StateSnapshot ParseStateEvents(JsonElement array, string roomId)
    {
        var events = new List<MatrixEvent>();
        int skipped = 0;
        foreach (var item in array.EnumerateArray())
        {
            string? eventId = TransactionParser.OptionalString(item, "event_id");
            string? type = TransactionParser.OptionalString(item, "type");
            string? stateKey = TransactionParser.OptionalString(item, "state_key");
            string? itemRoomId = TransactionParser.OptionalString(item, "room_id");
            string sender = TransactionParser.OptionalString(item, "sender") ?? "";

            // Ids and keys must be storable as sent (README "Input safety"); display values are cleaned when projected.
            // The pushed events' structural rules hold here too: a property name the projectors would fail to read
            // (e.g. a lone surrogate among power_levels users) or content too deep skips the entry, never the job.
            if (TransactionParser.Scan(item) is not null
                || string.IsNullOrEmpty(eventId) || string.IsNullOrEmpty(type) || stateKey is null
                || !MatrixText.IsValid(eventId) || !MatrixText.IsValid(type) || !MatrixText.IsValid(stateKey) || !MatrixText.IsValid(sender)
                || (itemRoomId is not null && itemRoomId != roomId)
                || !MatrixText.TryGetProperty(item, "content", out var content) || content.ValueKind != JsonValueKind.Object
                || ContentRules.Check(type, isState: true, content) is not null)
            {
                skipped++;
                continue;
            }

            JsonElement? unsigned = MatrixText.TryGetProperty(item, "unsigned", out var u) && u.ValueKind == JsonValueKind.Object ? u : null;
            long? ts = MatrixText.TryGetProperty(item, "origin_server_ts", out var t) && t.ValueKind == JsonValueKind.Number && t.TryGetInt64(out long v) ? v : null;
            events.Add(new MatrixEvent(eventId, roomId, type, sender, stateKey, ts, content, unsigned, null));
        }

        return new StateSnapshot(events, skipped);
    }

    private static MatrixApiException BadAnswer(string endpoint, string expected) =>
        new(200, MatrixError.Codes.BadJson, $"The homeserver's {endpoint} answer is not {expected}", null);
}
