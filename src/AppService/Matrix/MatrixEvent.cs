using System.Text.Json;

namespace AppService.Matrix;

/// <summary>
/// A ClientEvent from a transaction that passed validation. <see cref="Content"/> and <see cref="Unsigned"/>
/// point into the request's JSON document and live as long as it does.
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
    public string? ReplacesState =>
        Unsigned is { ValueKind: JsonValueKind.Object } u
        && u.TryGetProperty("replaces_state", out var r) && r.ValueKind == JsonValueKind.String
            ? r.GetString()
            : null;
}

/// <summary>An event that cannot be processed. It is stored with the reason and the transaction is still acknowledged.</summary>
public sealed record RejectedEvent(string? EventId, string? RoomId, string? Type, string Reason, string RawJson);

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

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { Invite, Join, Leave, Ban, Knock };

    /// <summary>Returns the interned constant for a known membership, or null.</summary>
    public static string? Normalize(string? value) => value switch
    {
        Invite => Invite,
        Join => Join,
        Leave => Leave,
        Ban => Ban,
        Knock => Knock,
        _ => null,
    };
}
