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

    /// <summary><c>GET /joined_rooms</c>: <c>{"joined_rooms": ["!room:hs", ...]}</c>; an entry that is not a valid id is skipped.</summary>
    public static IReadOnlySet<string> ParseJoinedRooms(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !MatrixText.TryGetProperty(root, "joined_rooms", out var rooms) || rooms.ValueKind != JsonValueKind.Array)
        {
            throw BadAnswer("/joined_rooms", "an object with a 'joined_rooms' array");
        }

        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (var room in rooms.EnumerateArray())
        {
            if (room.ValueKind == JsonValueKind.String && room.GetString() is { } id && MatrixText.IsValid(id))
            {
                result.Add(id);
            }
        }

        return result;
    }

    /// <summary>
    /// State events of <paramref name="roomId"/>, read by <see cref="EventReader"/> with the pushed events' rules
    /// (an event_id, a type, a string state_key, storable ids, the content keys we act on of the right type; a
    /// property name nothing reads, bad or not, is ignored); room_id may be absent (the request implies it) but must not
    /// name another room. An entry the reader refuses is skipped, never the job: it would be rejected if pushed.
    /// </summary>
    public static StateSnapshot ParseStateEvents(JsonElement array, string roomId)
    {
        var shape = EventShape.Snapshot(roomId);
        var events = new List<MatrixEvent>();
        int skipped = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (EventReader.Read(item, shape).Event is { } e)
            {
                events.Add(e);
            }
            else
            {
                skipped++;
            }
        }

        return new StateSnapshot(events, skipped);
    }

    private static MatrixApiException BadAnswer(string endpoint, string expected) =>
        new(200, MatrixError.Codes.BadJson, $"The homeserver's {endpoint} answer is not {expected}", null);
}
