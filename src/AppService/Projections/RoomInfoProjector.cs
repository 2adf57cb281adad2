using System.Text.Json;
using AppService.Matrix;

namespace AppService.Projections;

public static class RoomInfoProjector
{
    private static readonly JsonElement EmptyContent = JsonDocument.Parse("{}").RootElement.Clone();

    /// <summary>The state event types (with state_key "") that set RoomInfo fields.</summary>
    public static readonly IReadOnlyList<string> Types =
    [
        EventTypes.Create, EventTypes.Name, EventTypes.Topic, EventTypes.CanonicalAlias, EventTypes.Avatar,
        EventTypes.JoinRules, EventTypes.HistoryVisibility, EventTypes.Encryption, EventTypes.Tombstone,
        EventTypes.PowerLevels,
    ];

    /// <summary>Whether a state event of this type (with state_key "") sets a RoomInfo field.</summary>
    public static bool Handles(string type) => type is EventTypes.Create or EventTypes.Name or EventTypes.Topic
        or EventTypes.CanonicalAlias or EventTypes.Avatar or EventTypes.JoinRules or EventTypes.HistoryVisibility
        or EventTypes.Encryption or EventTypes.Tombstone or EventTypes.PowerLevels;

    /// <summary>
    /// The room as if the <paramref name="type"/> event's content had none of the keys we read: the field(s) it sets
    /// are cleared. Used when that state is absent from a snapshot, or its event was redacted. The create event is
    /// never absent from a real room, so its fields are left alone.
    /// </summary>
    public static RoomInfo Absent(RoomInfo room, string type, DateTimeOffset now) =>
        type == EventTypes.Create || !Handles(type) ? room
        : type == EventTypes.PowerLevels ? SetPowerLevels(room, Projections.PowerLevels.None, now)
        : type == EventTypes.Encryption ? (room.Encryption is null ? room : room with { Encryption = null, UpdatedAt = now })
        : Apply(room, new MatrixEvent("", room.RoomId, type, "", "", null, EmptyContent, null, null), now);

    /// <summary>
    /// The room after a room-state event with state_key "". Empty, null or absent content clears the field (spec: an
    /// absent or empty name means no name).
    /// </summary>
    public static RoomInfo Apply(RoomInfo room, MatrixEvent stateEvent, DateTimeOffset now)
    {
        var c = stateEvent.Content;
        var next = stateEvent.Type switch
        {
            EventTypes.Create => ApplyCreate(room, stateEvent),
            EventTypes.Name => room with { Name = Text(c, "name") },
            EventTypes.Topic => room with { Topic = Text(c, "topic") },
            EventTypes.CanonicalAlias => room with { CanonicalAlias = Text(c, "alias") },
            EventTypes.Avatar => room with { AvatarUrl = Text(c, "url") },
            EventTypes.JoinRules => room with { JoinRule = Text(c, "join_rule") },
            EventTypes.HistoryVisibility => room with { HistoryVisibility = Text(c, "history_visibility") },
            // Encryption can never be turned off (clients keep encrypting): an event without an algorithm (a
            // redacted one, or an attempt to disable) keeps the room's. A later algorithm replaces it.
            EventTypes.Encryption => Text(c, "algorithm") is { } algorithm ? room with { Encryption = algorithm } : room,
            EventTypes.Tombstone => room with { TombstoneSuccessor = Text(c, "replacement_room") },
            EventTypes.PowerLevels => SetPowerLevels(room, Projections.PowerLevels.FromContent(c), now),
            _ => room,
        };
        return ReferenceEquals(next, room) ? room : next with { UpdatedAt = now };
    }

    /// <summary>
    /// The create event never changes (it is the room's first event; no event replaces it), and neither does a room's
    /// version. So once the room's create fields are known from a trusted source (a pushed create, or a resync; not an
    /// invite's stripped state), a later create never overwrites them: a redacted copy in a resync's snapshot (room
    /// v1-v10 keep only <c>creator</c>) would otherwise turn the version into "1" and clear the room type and
    /// predecessor, which a pushed redaction of the create keeps (<see cref="Redaction.Keeps"/>). With nothing trusted
    /// known, the create is read as it is; a redacted copy without <c>room_version</c> gives no version (null: its
    /// rules are <see cref="RoomRules.Unknown"/>, which grant nothing), not "1": only an unredacted create without one
    /// is a version 1 room (spec).
    /// </summary>
    private static RoomInfo ApplyCreate(RoomInfo room, MatrixEvent create)
    {
        if (KnowsCreate(room))
        {
            return room;
        }

        var c = create.Content;
        string? version = Text(c, "room_version") ?? (IsRedactedCopy(create) ? null : "1");
        string? predecessor = MatrixText.TryGetProperty(c, "predecessor", out var p) && p.ValueKind == JsonValueKind.Object
            ? Text(p, "room_id")
            : null;
        return room with
        {
            RoomVersion = version,
            Creator = CreatorOf(version, create),
            Creators = CreatorsOf(version, create),
            RoomType = Text(c, "type"),
            PredecessorRoomId = predecessor,
        };
    }

    /// <summary>Whether the room's create fields are known from a trusted source (not an invite's stripped state).</summary>
    public static bool KnowsCreate(RoomInfo room) => room.RoomVersion is not null && room.StateSource != StateSources.Stripped;

    /// <summary>A copy of an event the redaction algorithm pruned: servers mark it with <c>unsigned.redacted_because</c>.</summary>
    public static bool IsRedactedCopy(MatrixEvent e) =>
        e.Unsigned is { } unsigned && MatrixText.TryGetProperty(unsigned, "redacted_because", out var because)
        && because.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined);

    /// <summary>
    /// Room versions 1-10 name the creator in content.creator; from v11 it is the sender (spec rooms/v11), and
    /// "in all room versions, clients can rely on sender".
    /// </summary>
    public static string? CreatorOf(string? roomVersion, MatrixEvent create) =>
        IsPreV11(roomVersion) ? Text(create.Content, "creator") ?? NullIfEmpty(create.Sender) : NullIfEmpty(create.Sender);

    /// <summary>
    /// Room v12: the create event's sender and every user id in <c>content.additional_creators</c>; other versions
    /// (and version strings we do not know, see <see cref="RoomVersions"/>): the one creator. An entry that is not a
    /// string of storable text is left out: no sender can match it (senders are valid text), and it could not be stored.
    /// </summary>
    public static string[]? CreatorsOf(string? roomVersion, MatrixEvent create)
    {
        if (RoomVersions.RulesOf(roomVersion) != RoomRules.V12)
        {
            return CreatorOf(roomVersion, create) is { } creator ? [creator] : null;
        }

        var creators = new List<string>();
        if (NullIfEmpty(create.Sender) is { } sender)
        {
            creators.Add(sender);
        }

        if (MatrixText.TryGetProperty(create.Content, "additional_creators", out var additional) && additional.ValueKind == JsonValueKind.Array)
        {
            creators.AddRange(additional.EnumerateArray()
                .Where(a => a.ValueKind == JsonValueKind.String)
                .Select(MatrixText.Read)
                .Where(a => a.Length > 0 && MatrixText.IsValid(a)));
        }

        return creators.Count > 0 ? [.. creators.Distinct(StringComparer.Ordinal)] : null;
    }

    private static RoomInfo SetPowerLevels(RoomInfo room, PowerLevels powerLevels, DateTimeOffset now)
    {
        string json = powerLevels.ToJson();
        return json == room.PowerLevels ? room : room with { PowerLevels = json, UpdatedAt = now };
    }

    /// <summary>v1-v10: content.creator, else the sender. v11, v12 and unknown strings: the sender (see <see cref="RoomVersions"/>).</summary>
    private static bool IsPreV11(string? roomVersion) => RoomVersions.RulesOf(roomVersion) is RoomRules.V1ToV2 or RoomRules.V3ToV10;

    /// <summary>A display value as stored: U+0000 removed, lone surrogates replaced (README "Input safety").</summary>
    private static string? Text(JsonElement element, string key) =>
        NullIfEmpty(MatrixText.Display(element, key));

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
