using System.Text.Json;

namespace AppService.Matrix;

/// <summary>
/// A ClientEvent that passed <see cref="EventReader"/>: pushed in a transaction, from a resync's snapshot, or an
/// invite's stripped state. <see cref="Content"/> and <see cref="Unsigned"/> point into the JSON document it was read
/// from and live as long as it does.
/// </summary>
public sealed record MatrixEvent(
    string EventId,
    string RoomId,
    string Type,
    string Sender,
    string? StateKey,
    long? OriginServerTs,
    JsonElement Content,
    JsonElement? Unsigned,
    string? Redacts)
{
    /// <summary>State events are told apart by the presence of state_key, not by type (spec).</summary>
    public bool IsState => StateKey is not null;

    /// <summary><c>unsigned.replaces_state</c>: the state event this one replaces (spec v1.19).</summary>
    public string? ReplacesState => Unsigned is { } u ? MatrixText.Get(u, "replaces_state"u8) : null;

    /// <summary>
    /// Synapse (1.135+) marks a soft-failed event <c>unsigned["io.element.synapse.soft_failed"]: true</c>, and one a
    /// policy server flagged <c>unsigned["io.element.synapse.policy_server_spammy"]: true</c> (the two are set
    /// together). Such an event is stored by the homeserver but never changes the room's current state
    /// (server-server spec, "Soft failure"), yet the appservice stream pushes it like any other.
    /// </summary>
    public bool IsSoftFailed => Unsigned is { ValueKind: JsonValueKind.Object } u
        && (IsTrue(u, "io.element.synapse.soft_failed"u8) || IsTrue(u, "io.element.synapse.policy_server_spammy"u8));

    /// <summary>The keys <see cref="IsSoftFailed"/> looks up (spelled there as UTF-8 literals).</summary>
    public const string SoftFailedKey = "io.element.synapse.soft_failed";

    public const string PolicyServerSpammyKey = "io.element.synapse.policy_server_spammy";

    private static bool IsTrue(JsonElement unsigned, ReadOnlySpan<byte> key) =>
        MatrixText.TryGetProperty(unsigned, key, out var value) && value.ValueKind == JsonValueKind.True;
}

/// <summary>
/// An event that cannot be processed. It is stored with the reason and the transaction is still acknowledged.
/// <see cref="RawJson"/> is the event's JSON text as received, cut at MaxEventBytes; <see cref="ContentBytes"/> its full size.
/// Ids may hold anything the sender put there: they are made storable when written (<see cref="MatrixText.StorableId"/>).
/// </summary>
public sealed record RejectedEvent(string? EventId, string? RoomId, string? Type, string Code, string Reason, string RawJson, int ContentBytes);

/// <summary>Why an event was not applied: the <c>reason_code</c> of <c>rejected_events</c> (README "Input safety").</summary>
public readonly record struct Rejection(string Code, string Reason);

public static class RejectionCodes
{
    public const string NotObject = "not_object";
    public const string MissingField = "missing_field";
    public const string InvalidString = "invalid_string";
    public const string WrongType = "wrong_type";
    public const string TooLarge = "too_large";
    public const string TooDeep = "too_deep";

    /// <summary>Valid as far as the parser can tell, but applying it failed on its own (the safety net's bisection).</summary>
    public const string ProcessingFailed = "processing_failed";

    /// <summary>Rows stored before reason codes existed.</summary>
    public const string Legacy = "legacy";

    public static readonly IReadOnlyList<string> All = [NotObject, MissingField, InvalidString, WrongType, TooLarge, TooDeep, ProcessingFailed];
}

public static class EventTypes
{
    public const string Member = "m.room.member";
    public const string Create = "m.room.create";
    public const string Name = "m.room.name";
    public const string Topic = "m.room.topic";
    public const string CanonicalAlias = "m.room.canonical_alias";
    public const string Avatar = "m.room.avatar";
    public const string JoinRules = "m.room.join_rules";
    public const string HistoryVisibility = "m.room.history_visibility";
    public const string Encryption = "m.room.encryption";
    public const string Tombstone = "m.room.tombstone";
    public const string Redaction = "m.room.redaction";
    public const string PowerLevels = "m.room.power_levels";
}

public static class Memberships
{
    public const string Invite = "invite";
    public const string Join = "join";
    public const string Leave = "leave";
    public const string Ban = "ban";
    public const string Knock = "knock";

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal) { Invite, Join, Leave, Ban, Knock };

    public static IReadOnlySet<string> All => Known;

    /// <summary>Returns the interned constant for a known membership (the set keeps the constants), or null.</summary>
    public static string? Normalize(string? value) => value is not null && Known.TryGetValue(value, out string? known) ? known : null;
}
