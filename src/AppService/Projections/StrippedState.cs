using System.Text.Json;
using AppService.Matrix;

namespace AppService.Projections;

/// <summary>
/// An invite's stripped state (<c>unsigned.invite_room_state</c>: type, state_key, sender, content; no event ids).
/// It is informational and "SHOULD NOT be trusted" (spec), so it only seeds RoomInfo, marked
/// <see cref="StateSources.Stripped"/> until the resync after the join replaces it.
/// </summary>
public static class StrippedState
{
    /// <summary>The usable room-info entries of the invite's stripped state, in order; malformed entries are skipped.</summary>
    public static IReadOnlyList<MatrixEvent> RoomInfoEntries(MatrixEvent invite)
    {
        if (invite.Unsigned is not { ValueKind: JsonValueKind.Object } unsigned
            || !MatrixText.TryGetProperty(unsigned, "invite_room_state", out var list)
            || list.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        // Read like any event (EventReader: storable ids, content the projector can read), only without an event id.
        // Values are made storable by the projector; an unusable sender (it may become the creator) skips the entry.
        var shape = EventShape.Stripped(invite.RoomId);
        var entries = new List<MatrixEvent>();
        foreach (var item in list.EnumerateArray())
        {
            // Power levels are never seeded from stripped state: an inviter could claim any level in it.
            if (EventReader.Read(item, shape).Event is { StateKey: "" } entry && RoomInfoProjector.Handles(entry.Type)
                && entry.Type != EventTypes.PowerLevels)
            {
                entries.Add(entry);
            }
        }

        return entries;
    }

    /// <summary>
    /// The room with the stripped state applied over it. Keys the stripped state does not carry keep their value:
    /// the list is partial by design (servers SHOULD send name, avatar, alias, join rules, MUST send create).
    /// </summary>
    public static RoomInfo Seed(RoomInfo room, MatrixEvent invite, DateTimeOffset now)
    {
        foreach (var entry in RoomInfoEntries(invite))
        {
            room = RoomInfoProjector.Apply(room, entry, now);
        }

        return room with { StateSource = StateSources.Stripped, UpdatedAt = now };
    }
}
