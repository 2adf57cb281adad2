using AppService.Matrix;

namespace AppService.Projections;

/// <summary>
/// The redaction algorithm, as far as the projections see it (spec rooms v11, "Redactions"): a redacted state event
/// still counts as state, but the content keys the algorithm does not protect behave as if absent. So a redacted
/// name means no name, a redacted member event keeps its membership and loses displayname and avatar_url.
/// </summary>
/// <remarks>
/// One exception: a redacted <c>m.room.encryption</c> keeps the room's <c>encryption</c>. The algorithm loses its
/// content like any other key, but encryption can never be turned off in a room; clients keep encrypting, so the
/// room is still encrypted (see <see cref="RoomInfoProjector.Apply"/>).
/// We follow the v11 rules for every room version. Older versions protect less (v1-v10 keep only <c>creator</c> of
/// m.room.create, v1-v7 drop <c>allow</c>), but the content keys we project are the same except for create, and the
/// room version or creator of a room does not change because its create event was redacted.
/// </remarks>
public static class Redaction
{
    private static readonly Dictionary<string, string[]> Protected = new(StringComparer.Ordinal)
    {
        [EventTypes.Member] = ["membership", "join_authorised_via_users_server", "third_party_invite"],
        [EventTypes.JoinRules] = ["join_rule", "allow"],
        [EventTypes.HistoryVisibility] = ["history_visibility"],
        ["m.room.power_levels"] = ["ban", "events", "events_default", "invite", "kick", "redact", "state_default", "users", "users_default"],
        [EventTypes.Redaction] = ["redacts"],
    };

    /// <summary>The content key each room-info event type is projected from (create: several, all protected).</summary>
    private static readonly Dictionary<string, string> ProjectedKey = new(StringComparer.Ordinal)
    {
        [EventTypes.Name] = "name",
        [EventTypes.Topic] = "topic",
        [EventTypes.CanonicalAlias] = "alias",
        [EventTypes.Avatar] = "url",
        [EventTypes.JoinRules] = "join_rule",
        [EventTypes.HistoryVisibility] = "history_visibility",
        [EventTypes.Tombstone] = "replacement_room",
    };

    /// <summary>Whether the redaction algorithm keeps <paramref name="key"/> of an event's content.</summary>
    public static bool Keeps(string eventType, string key) =>
        eventType == EventTypes.Create
        || (Protected.TryGetValue(eventType, out var keys) && keys.Contains(key, StringComparer.Ordinal));

    /// <summary>The room after the event that currently sets its <paramref name="eventType"/> field was redacted.</summary>
    public static RoomInfo Apply(RoomInfo room, string eventType, DateTimeOffset now)
    {
        if (!ProjectedKey.TryGetValue(eventType, out string? key) || Keeps(eventType, key))
        {
            return room;
        }

        // Project the event as it now reads: content without the key, i.e. the field is absent.
        return RoomInfoProjector.Absent(room, eventType, now);
    }

    /// <summary>The member row after the member event that set it was redacted: membership stays, the profile goes.</summary>
    public static RoomMember Apply(RoomMember member, DateTimeOffset now) =>
        member.DisplayName is null && member.AvatarUrl is null
            ? member
            : member with { DisplayName = null, AvatarUrl = null, UpdatedAt = now };
}
