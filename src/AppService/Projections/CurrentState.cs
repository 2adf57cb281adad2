using AppService.Matrix;

namespace AppService.Projections;

/// <summary>
/// The current state event id per (room, type, state_key), as far as one batch knows it (loaded rows, then every
/// applied event), the reverse map so a redaction finds what its target currently sets, and the sender of each
/// current state event where known (rows stored before senders were kept have none).
/// </summary>
internal sealed class CurrentState
{
    private readonly Dictionary<(string RoomId, string Type, string StateKey), string> _eventIdByKey = [];
    private readonly Dictionary<string, (string RoomId, string Type, string StateKey)> _keyByEventId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _senderByEventId = new(StringComparer.Ordinal);

    public string? EventIdOf((string RoomId, string Type, string StateKey) key) => _eventIdByKey.GetValueOrDefault(key);

    public (string RoomId, string Type, string StateKey)? KeyOf(string eventId) =>
        _keyByEventId.TryGetValue(eventId, out var key) ? key : null;

    public string? SenderOf(string eventId) => _senderByEventId.GetValueOrDefault(eventId);

    public void Set((string RoomId, string Type, string StateKey) key, string eventId, string? sender)
    {
        if (_eventIdByKey.TryGetValue(key, out string? previous) && previous != eventId)
        {
            _keyByEventId.Remove(previous);
            _senderByEventId.Remove(previous);
        }

        _eventIdByKey[key] = eventId;
        _keyByEventId[eventId] = key;
        if (sender is not null)
        {
            _senderByEventId[eventId] = sender;
        }
    }

    /// <summary>Forgets the member keys of a room the bot left (their ids go stale while it is out).</summary>
    public void RemoveMembers(string roomId)
    {
        foreach (var key in _eventIdByKey.Keys.Where(k => k.RoomId == roomId && k.Type == EventTypes.Member).ToList())
        {
            string eventId = _eventIdByKey[key];
            _keyByEventId.Remove(eventId);
            _senderByEventId.Remove(eventId);
            _eventIdByKey.Remove(key);
        }
    }
}
