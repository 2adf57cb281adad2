namespace AppService.Simulator.Workload;

/// <summary>
/// One event as the homeserver knows it. Serialised to a ClientEvent by <see cref="EventSerializer"/>.
/// Fields are nullable because poison events deliberately lack some of them; valid events always have
/// <see cref="EventId"/>, <see cref="RoomId"/> and <see cref="Type"/>.
/// </summary>
internal sealed class SimEvent
{
    /// <summary>Position in the homeserver's stream (poison events: negative, they are not part of the stream).</summary>
    public required int Index { get; init; }

    public required string? EventId { get; init; }

    /// <summary>Poison only: <c>event_id</c> written as this raw JSON (a lone surrogate escape cannot be written from a .NET string).</summary>
    public byte[]? RawEventIdJson { get; init; }

    public required string? RoomId { get; init; }

    public required string? Type { get; init; }

    public required string Sender { get; init; }

    /// <summary>Present (possibly empty) for state events only.</summary>
    public string? StateKey { get; init; }

    /// <summary>Poison only: <c>state_key</c> written as this raw JSON (for a lone surrogate escape).</summary>
    public byte[]? RawStateKeyJson { get; init; }

    public required long OriginServerTs { get; init; }

    /// <summary>The raw JSON value of <c>content</c>: an object for valid events, anything for poison.</summary>
    public required byte[] Content { get; init; }

    /// <summary>For <c>m.room.redaction</c>: the redacted event (written top-level and in content).</summary>
    public string? Redacts { get; init; }

    /// <summary><c>unsigned.prev_content</c> on the first send (the state this event replaces).</summary>
    public byte[]? PrevContent { get; init; }

    public string? PrevSender { get; init; }

    /// <summary><c>unsigned.replaces_state</c>.</summary>
    public string? ReplacesState { get; init; }

    /// <summary><c>unsigned.invite_room_state</c> (a JSON array of stripped state) for invites of the bot.</summary>
    public byte[]? InviteRoomState { get; init; }

    /// <summary>Whether the homeserver pushes this event to the application service (interest rules).</summary>
    public bool Pushed { get; set; }

    /// <summary>Index of a later <c>m.room.redaction</c> of this event, if any (retries send it redacted).</summary>
    public int? RedactedByIndex { get; set; }

    /// <summary>Set by the fault injector: what is wrong with this event (null for valid events).</summary>
    public string? PoisonKind { get; init; }

    /// <summary>Stored by the homeserver but not part of the current state (server-server spec, "Soft failure");
    /// Synapse (1.135+) pushes it flagged <c>unsigned["io.element.synapse.soft_failed"]: true</c>.</summary>
    public bool SoftFailed { get; init; }

    public bool IsState => StateKey is not null;

    /// <summary>The same event with other content (a redacted copy: same id, index and flags).</summary>
    public SimEvent WithContent(byte[] content) => new()
    {
        Index = Index, EventId = EventId, RoomId = RoomId, Type = Type, Sender = Sender, StateKey = StateKey,
        OriginServerTs = OriginServerTs, Content = content, Redacts = Redacts, PrevContent = PrevContent,
        PrevSender = PrevSender, ReplacesState = ReplacesState, InviteRoomState = InviteRoomState, Pushed = Pushed,
        RedactedByIndex = RedactedByIndex, SoftFailed = SoftFailed,
    };

    public override string ToString() => $"{Index} {EventId} {Type} {StateKey} in {RoomId}";
}
