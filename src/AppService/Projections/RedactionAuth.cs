namespace AppService.Projections;

/// <summary>Whether a redaction of current state is applied.</summary>
public enum RedactionVerdict
{
    /// <summary>The homeserver applies it: we apply it.</summary>
    Allowed,

    /// <summary>The homeserver does not apply it (a powerless user on another server): we change nothing.</summary>
    Refused,

    /// <summary>
    /// We cannot tell (the room's power levels or the target's sender are not known to us yet): we change nothing and
    /// resync the room, whose snapshot shows what the homeserver decided.
    /// </summary>
    Undecided,
}

/// <summary>
/// Who may redact a state event, as the homeserver decides it. Pure: the room (version, creator(s), power levels),
/// the redaction and its target.
/// <list type="bullet">
/// <item>Room versions 1-2 (spec rooms/v1, authorization rule 11): allowed if the redacter's power level is at least
/// <c>redact</c>, or the domain of the redacted event's id equals the domain of the redaction's id.</item>
/// <item>From room version 3 on (spec rooms/v3 "Redactions", unchanged to v12): the redaction enters the room
/// without a power check, but servers apply it only if the redacter's server equals the target sender's server, or the
/// redacter's power level is at least <c>redact</c> (default 50).</item>
/// <item>Room version 12: the create event's sender and its <c>additional_creators</c> have infinite power.</item>
/// </list>
/// Stripped state never grants power: while the room's state comes from an invite's stripped state
/// (<see cref="StateSources.Stripped"/>, unverified: the inviter wrote it), its creator(s) count for nothing here (they
/// are still stored and shown); the power levels are never seeded from it, so such a redaction is usually
/// <see cref="RedactionVerdict.Undecided"/> and the resync decides.
/// Version strings we do not know follow the v3-v10 rules (<see cref="RoomVersions"/>).
/// </summary>
public static class RedactionAuth
{
    public static RedactionVerdict Decide(
        RoomInfo room, string redactionEventId, string redacter, string targetEventId, string? targetSender)
    {
        var rules = RoomVersions.RulesOf(room.RoomVersion);
        bool verified = room.StateSource != StateSources.Stripped;
        if (verified && rules == RoomRules.V12 && room.Creators is { } creators && creators.Contains(redacter, StringComparer.Ordinal))
        {
            return RedactionVerdict.Allowed;
        }

        bool sameDomain = rules == RoomRules.V1ToV2
            ? DomainOf(redactionEventId) is { } redactionDomain && redactionDomain == DomainOf(targetEventId)
            : targetSender is not null && DomainOf(redacter) is { } redacterDomain && redacterDomain == DomainOf(targetSender);
        if (sameDomain)
        {
            return RedactionVerdict.Allowed;
        }

        var powerLevels = PowerLevels.FromJson(room.PowerLevels);
        if (powerLevels is null)
        {
            return RedactionVerdict.Undecided;
        }

        if (powerLevels.LevelOf(redacter, verified ? room.Creator : null) >= powerLevels.Redact)
        {
            return RedactionVerdict.Allowed;
        }

        // From v3 on the domain rule needs the target's sender; a row stored before senders were kept has none.
        return rules != RoomRules.V1ToV2 && targetSender is null ? RedactionVerdict.Undecided : RedactionVerdict.Refused;
    }

    /// <summary>The server name of a user id or a v1/v2 event id (<c>sigil localpart ':' domain</c>); null if there is none.</summary>
    public static string? DomainOf(string id)
    {
        int colon = id.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && colon < id.Length - 1 ? id[(colon + 1)..] : null;
    }
}
