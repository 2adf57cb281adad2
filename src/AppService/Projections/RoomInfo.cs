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

    /// <summary>
    /// The room's creators: in room v12 the create event's sender and its <c>additional_creators</c> (with infinite
    /// power), in every other version the one <see cref="Creator"/>. Null until the create event is seen.
    /// </summary>
    public string[]? Creators { get; init; }

    /// <summary>
    /// What the projections read of the room's <c>m.room.power_levels</c>, as <see cref="Projections.PowerLevels"/> JSON;
    /// null while not known (no power_levels event seen and no resync yet).
    /// </summary>
    public string? PowerLevels { get; init; }
    public string? RoomType { get; init; }
    public string? PredecessorRoomId { get; init; }
    public string? TombstoneSuccessor { get; init; }

    /// <summary>The bot's own membership in the room, from its latest member event.</summary>
    public string? BotMembership { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>
    /// Where the room-info fields were last set from as a whole: null while only pushed events have been applied,
    /// <see cref="StateSources.Stripped"/> after an invite's stripped state (unverified), <see cref="StateSources.Homeserver"/>
    /// after a resync from the homeserver's <c>/state</c>. Pushed events keep the source as it is.
    /// </summary>
    public string? StateSource { get; init; }

    /// <summary>Set when a pushed event showed that our view of the room is stale (replaces_state mismatch); a resync clears it.</summary>
    public bool Suspect { get; init; }

    /// <summary>When the snapshot of the last resync was taken (its fetch started); null if the room was never resynced.</summary>
    public DateTimeOffset? LastSyncedAt { get; init; }
}

public static class StateSources
{
    /// <summary>From an invite's <c>unsigned.invite_room_state</c>: informational, "SHOULD NOT be trusted" (spec).</summary>
    public const string Stripped = "stripped";

    /// <summary>From the homeserver's own <c>/members</c> and <c>/state</c>, by a resync.</summary>
    public const string Homeserver = "homeserver";
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
