namespace AppService.Projections;

/// <summary>The rows as loaded, before any event changed them: the "before" of the change log's diff (<see cref="ChangeLog"/>).</summary>
public sealed partial class ProjectionBatch
{
    private readonly Dictionary<string, RoomInfo> _loadedRooms = new(StringComparer.Ordinal);
    private readonly Dictionary<(string RoomId, string UserId), RoomMember> _loadedMembers = [];

    /// <summary>The stored room row this batch was seeded with, if any.</summary>
    public RoomInfo? LoadedRoom(string roomId) => _loadedRooms.GetValueOrDefault(roomId);

    /// <summary>The stored member row this batch was seeded with, if any.</summary>
    public RoomMember? LoadedMember(string roomId, string userId) => _loadedMembers.GetValueOrDefault((roomId, userId));

    private void RememberLoaded(RoomInfo room) => _loadedRooms.TryAdd(room.RoomId, room);

    private void RememberLoaded(RoomMember member) => _loadedMembers.TryAdd((member.RoomId, member.UserId), member);
}
