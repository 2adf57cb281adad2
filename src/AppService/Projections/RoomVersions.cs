using System.Globalization;

namespace AppService.Projections;

/// <summary>Which set of spec rules a room version string selects, for the few rules the projections depend on.</summary>
public enum RoomRules
{
    /// <summary>Room versions 1 and 2: redactions are an authorisation rule (rule 11), domains compared by event id.</summary>
    V1ToV2,

    /// <summary>
    /// Room versions 3 to 10: redactions are applied only if the sender domains match or the redacter has the
    /// <c>redact</c> power level; the creator is <c>content.creator</c> (falling back to the sender).
    /// </summary>
    V3ToV10,

    /// <summary>Room version 11: as v3-v10, but the creator is the create event's sender.</summary>
    V11,

    /// <summary>Room version 12: the create event's sender and <c>content.additional_creators</c> are creators, with infinite power.</summary>
    V12,

    /// <summary>A version string the spec does not define (see <see cref="RoomVersions"/>).</summary>
    Unknown,
}

/// <summary>
/// The room version string to rule set mapping. Only the stable versions the spec defines ("1" to "12") select
/// their rules. Any other string (unstable or experimental versions such as <c>org.matrix.hydra.11</c>, a future
/// version, a missing create event) is <see cref="RoomRules.Unknown"/>, and for each rule we take the choice that is
/// right in every known version or, where none is, the one that grants nothing:
/// <list type="bullet">
/// <item>creator: the create event's sender (right in every version; <c>content.creator</c> is gone from v11 on and
/// may say anything there), and no <c>additional_creators</c>;</item>
/// <item>redactions: the v3-v11 rule (sender domains, or the <c>redact</c> level); nobody gets the infinite power of
/// v12 creators. Where this is wrong it errs towards not applying a redaction, which the drift check and the next
/// resync repair from the homeserver's own state; guessing v12 semantics could instead apply a redaction the
/// homeserver refused, and nothing would ever repair it.</item>
/// </list>
/// </summary>
public static class RoomVersions
{
    public static RoomRules RulesOf(string? roomVersion)
    {
        if (roomVersion is null || !int.TryParse(roomVersion, NumberStyles.None, CultureInfo.InvariantCulture, out int v)
            || roomVersion != v.ToString(CultureInfo.InvariantCulture))
        {
            return RoomRules.Unknown;
        }

        return v switch
        {
            1 or 2 => RoomRules.V1ToV2,
            >= 3 and <= 10 => RoomRules.V3ToV10,
            11 => RoomRules.V11,
            12 => RoomRules.V12,
            _ => RoomRules.Unknown,
        };
    }
}
