namespace AppService.Projections;

/// <summary>One room's projected state (table <c>rooms</c>). Member counts are derived from <c>room_members</c>.</summary>
public sealed record RoomInfo(string RoomId)
{
    public string? Name { get; init; }
    public string? Topic { get; init; }
    public string? CanonicalAlias { get; init; }
    public string? AvatarUrl { get; init; }
    public string? JoinRule { get; init; }
    public string? HistoryVisibility { get; init; }

    /// <summary>The encryption algorithm, or null for an unencrypted room.</summary>
    public string? Encryption { get; init; }
    public string? RoomVersion { get; init; }
    public string? Creator { get; init; }
    public string? RoomType { get; init; }
    public string? PredecessorRoomId { get; init; }
    public string? TombstoneSuccessor { get; init; }

    /// <summary>The bot's own membership in the room, from its latest member event.</summary>
    public string? BotMembership { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>One member row (table <c>room_members</c>), keyed by (room_id, user_id = the event's state_key).</summary>
public sealed record RoomMember(string RoomId, string UserId, string Membership)
{
    public string? DisplayName { get; init; }
    public string? AvatarUrl { get; init; }

    /// <summary>The event that set this row, and its sender (the actor: tells a kick from a leave).</summary>
    public string EventId { get; init; } = "";
    public string Sender { get; init; } = "";
    public DateTimeOffset UpdatedAt { get; init; }
}
