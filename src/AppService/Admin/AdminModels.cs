using System.Text.Json.Serialization;

namespace AppService.Admin;

/// <summary>
/// A room's projected state. Member counts are counted from the stored member rows. <c>creators</c>: in room v12 the
/// create event's sender and its <c>additional_creators</c>; in other versions the one <c>creator</c>; empty until
/// the create event is seen.
/// </summary>
public sealed record RoomInfoResponse(
    [property: JsonPropertyName("room_id")] string RoomId,
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("topic")] string? Topic,
    [property: JsonPropertyName("canonical_alias")] string? CanonicalAlias,
    [property: JsonPropertyName("avatar_url")] string? AvatarUrl,
    [property: JsonPropertyName("join_rule")] string? JoinRule,
    [property: JsonPropertyName("history_visibility")] string? HistoryVisibility,
    [property: JsonPropertyName("encryption")] string? Encryption,
    [property: JsonPropertyName("room_version")] string? RoomVersion,
    [property: JsonPropertyName("creator")] string? Creator,
    [property: JsonPropertyName("room_type")] string? RoomType,
    [property: JsonPropertyName("predecessor_room_id")] string? PredecessorRoomId,
    [property: JsonPropertyName("tombstone_successor")] string? TombstoneSuccessor,
    [property: JsonPropertyName("joined_member_count")] int JoinedMemberCount,
    [property: JsonPropertyName("invited_member_count")] int InvitedMemberCount,
    [property: JsonPropertyName("bot_membership")] string? BotMembership,
    [property: JsonPropertyName("updated_at")] DateTimeOffset UpdatedAt,
    [property: JsonPropertyName("state_source")] string? StateSource,
    [property: JsonPropertyName("suspect")] bool Suspect,
    [property: JsonPropertyName("last_synced_at")] DateTimeOffset? LastSyncedAt,
    [property: JsonPropertyName("creators")] IReadOnlyList<string> Creators);

public sealed record RoomsPage(
    [property: JsonPropertyName("rooms")] IReadOnlyList<RoomInfoResponse> Rooms,
    [property: JsonPropertyName("next_batch")] string? NextBatch);

public sealed record MemberResponse(
    [property: JsonPropertyName("user_id")] string UserId,
    [property: JsonPropertyName("membership")] string Membership,
    [property: JsonPropertyName("displayname")] string? DisplayName,
    [property: JsonPropertyName("avatar_url")] string? AvatarUrl,
    [property: JsonPropertyName("event_id")] string EventId,
    [property: JsonPropertyName("sender")] string Sender,
    [property: JsonPropertyName("updated_at")] DateTimeOffset UpdatedAt);

public sealed record MembersResponse(
    [property: JsonPropertyName("members")] IReadOnlyList<MemberResponse> Members,
    [property: JsonPropertyName("next_batch")] string? NextBatch = null);

public sealed record UserRoomResponse(
    [property: JsonPropertyName("room_id")] string RoomId,
    [property: JsonPropertyName("membership")] string Membership);

public sealed record UserRoomsResponse(
    [property: JsonPropertyName("rooms")] IReadOnlyList<UserRoomResponse> Rooms,
    [property: JsonPropertyName("next_batch")] string? NextBatch = null);

public sealed record EventResponse(
    [property: JsonPropertyName("event_id")] string EventId,
    [property: JsonPropertyName("room_id")] string RoomId,
    [property: JsonPropertyName("txn_id")] string TxnId,
    [property: JsonPropertyName("processed_at")] DateTimeOffset ProcessedAt);

public sealed record StatsResponse(
    [property: JsonPropertyName("events_processed")] long EventsProcessed,
    [property: JsonPropertyName("events_rejected")] long EventsRejected,
    [property: JsonPropertyName("transactions")] long Transactions,
    [property: JsonPropertyName("rooms")] long Rooms,
    [property: JsonPropertyName("members")] long Members,
    [property: JsonPropertyName("joined_members")] long JoinedMembers,
    [property: JsonPropertyName("jobs_pending")] long JobsPending,
    [property: JsonPropertyName("jobs_failed")] long JobsFailed,
    [property: JsonPropertyName("drift_detected")] long DriftDetected,
    [property: JsonPropertyName("estimated")] IReadOnlyList<string> Estimated)
{
    /// <summary>Rows of rejected_events by reason_code (docs/api.md "Input safety").</summary>
    [JsonPropertyName("events_rejected_by_reason")]
    public IReadOnlyDictionary<string, long> EventsRejectedByReason { get; init; } = new Dictionary<string, long>();
}

/// <summary>
/// A quarantined event. <c>content</c> is the event's JSON text as received (cut at MaxEventBytes; <c>content_bytes</c>
/// is its full size), null once a redaction removed it. Ids that could not be stored as sent are escaped or hashed.
/// </summary>
public sealed record RejectedEventResponse(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("event_id")] string? EventId,
    [property: JsonPropertyName("room_id")] string? RoomId,
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("reason_code")] string ReasonCode,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("txn_id")] string TxnId,
    [property: JsonPropertyName("rejected_at")] DateTimeOffset RejectedAt,
    [property: JsonPropertyName("content_bytes")] int ContentBytes,
    [property: JsonPropertyName("content")] string? Content,
    [property: JsonPropertyName("redacted_by")] string? RedactedBy);

public sealed record RejectedEventsPage(
    [property: JsonPropertyName("rejected_events")] IReadOnlyList<RejectedEventResponse> RejectedEvents,
    [property: JsonPropertyName("next_batch")] string? NextBatch);

/// <summary>A homeserver job: what, for which room, why, and how its runs went.</summary>
public sealed record JobResponse(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("room_id")] string RoomId,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("attempts")] int Attempts,
    [property: JsonPropertyName("run_after")] DateTimeOffset RunAfter,
    [property: JsonPropertyName("locked_until")] DateTimeOffset? LockedUntil,
    [property: JsonPropertyName("rerun")] bool Rerun,
    [property: JsonPropertyName("outcome")] string? Outcome,
    [property: JsonPropertyName("detail")] string? Detail,
    [property: JsonPropertyName("last_error")] string? LastError,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("completed_at")] DateTimeOffset? CompletedAt);

public sealed record JobsResponse([property: JsonPropertyName("jobs")] IReadOnlyList<JobResponse> Jobs);

public sealed record JobQueuedResponse(
    [property: JsonPropertyName("job_id")] long JobId,
    [property: JsonPropertyName("room_id")] string RoomId,
    [property: JsonPropertyName("kind")] string Kind);

/// <summary>
/// One change of the projection (docs/change-feed.md). <c>member</c>: the member row as written (membership null: the
/// row was removed), with the membership before. <c>room</c>: the RoomInfo fields that changed, with their new values.
/// </summary>
public sealed record ChangeResponse(
    [property: JsonPropertyName("position")] string Position,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("room_id")] string RoomId,
    [property: JsonPropertyName("user_id")] string? UserId,
    [property: JsonPropertyName("membership")] string? Membership,
    [property: JsonPropertyName("prev_membership")] string? PrevMembership,
    [property: JsonPropertyName("displayname")] string? DisplayName,
    [property: JsonPropertyName("avatar_url")] string? AvatarUrl,
    [property: JsonPropertyName("event_id")] string? EventId,
    [property: JsonPropertyName("cause")] string Cause,
    [property: JsonPropertyName("changed")] System.Text.Json.JsonElement? Changed,
    [property: JsonPropertyName("at")] DateTimeOffset At);

public sealed record ChangesResponse(
    [property: JsonPropertyName("changes")] IReadOnlyList<ChangeResponse> Changes,
    [property: JsonPropertyName("next_batch")] string NextBatch);

/// <summary>One membership change of a user in a room, as the change log recorded it.</summary>
public sealed record MemberHistoryEntry(
    [property: JsonPropertyName("membership")] string? Membership,
    [property: JsonPropertyName("prev_membership")] string? PrevMembership,
    [property: JsonPropertyName("displayname")] string? DisplayName,
    [property: JsonPropertyName("avatar_url")] string? AvatarUrl,
    [property: JsonPropertyName("event_id")] string? EventId,
    [property: JsonPropertyName("cause")] string Cause,
    [property: JsonPropertyName("position")] string Position,
    [property: JsonPropertyName("at")] DateTimeOffset At);

public sealed record MemberHistoryResponse(
    [property: JsonPropertyName("changes")] IReadOnlyList<MemberHistoryEntry> Changes,
    [property: JsonPropertyName("next_batch")] string? NextBatch = null);
