namespace AppService.Matrix;

/// <summary>
/// What one path requires of an event beyond the field rules every path shares (<see cref="EventReader"/>).
/// </summary>
/// <param name="HasEventId">Pushed and snapshot events carry an event_id; stripped state has none (the field is not read).</param>
/// <param name="ImpliedRoomId">
/// Null: room_id is required (a pushed event). Otherwise the room the request named: room_id may be absent, and must
/// not name another room (a /state or /members entry, an invite's stripped state).
/// </param>
/// <param name="StateOnly">Snapshots and stripped state list state events only: an entry without a state_key is not one.</param>
/// <param name="MaxEventBytes">
/// The size limit of a pushed event (without <c>unsigned</c>); null for none: a homeserver's answer about its own state
/// is not a pushed event, and stripped state rides in the unsigned of one.
/// </param>
public readonly record struct EventShape(bool HasEventId, string? ImpliedRoomId, bool StateOnly, int? MaxEventBytes)
{
    /// <summary>An entry of a transaction's <c>events</c>.</summary>
    public static EventShape Pushed(int maxEventBytes) => new(HasEventId: true, ImpliedRoomId: null, StateOnly: false, maxEventBytes);

    /// <summary>An entry of a resync's <c>/state</c> or <c>/members</c> answer for <paramref name="roomId"/>.</summary>
    public static EventShape Snapshot(string roomId) => new(HasEventId: true, roomId, StateOnly: true, MaxEventBytes: null);

    /// <summary>An entry of an invite's <c>unsigned.invite_room_state</c> (type, state_key, sender, content; no event id).</summary>
    public static EventShape Stripped(string roomId) => new(HasEventId: false, roomId, StateOnly: true, MaxEventBytes: null);
}

/// <summary>
/// What the reader made of one JSON element: the <see cref="Event"/>, or the <see cref="Rejection"/> with the ids it
/// could read (what a pushed event's quarantine row keeps).
/// </summary>
public readonly record struct EventReading(MatrixEvent? Event, Rejection? Rejection, string? EventId, string? RoomId, string? Type);
