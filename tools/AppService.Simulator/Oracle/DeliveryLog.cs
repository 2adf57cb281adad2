using AppService.Simulator.Sending;

namespace AppService.Simulator.Oracle;

/// <summary>
/// The acknowledged transactions in order, folded into the expected projection, plus what the oracle needs
/// beyond it: the txnId that first delivered each accepted event (the one the service must have recorded, so a
/// later duplicate that was processed again shows up), and every room and user the run touched.
/// </summary>
internal sealed class DeliveryLog(string botUserId)
{
    private readonly Dictionary<string, (string RoomId, string TxnId)> _firstDelivery = new(StringComparer.Ordinal);
    private readonly List<string> _acceptedOrder = [];
    private readonly HashSet<string> _touchedRooms = new(StringComparer.Ordinal);
    private readonly HashSet<string> _touchedUsers = new(StringComparer.Ordinal);

    public ExpectedProjection Projection { get; } = new(botUserId);

    public int EventsDelivered { get; private set; }

    public int DuplicatesDelivered { get; private set; }

    public IReadOnlyCollection<string> TouchedRooms => _touchedRooms;

    public IReadOnlyCollection<string> TouchedUsers => _touchedUsers;

    /// <summary>Accepted event ids in the order they were first applied.</summary>
    public IReadOnlyList<string> AcceptedEvents => _acceptedOrder;

    public (string RoomId, string TxnId) FirstDelivery(string eventId) => _firstDelivery[eventId];

    /// <summary>Applies an acknowledged transaction (call in acknowledgement order).</summary>
    public void Record(PlannedTransaction transaction)
    {
        foreach (var e in transaction.Events)
        {
            EventsDelivered++;
            if (e.RoomId is { Length: > 0 })
            {
                _touchedRooms.Add(e.RoomId);
            }
            switch (Projection.Apply(e))
            {
                case ApplyOutcome.Applied:
                    _firstDelivery[e.EventId!] = (e.RoomId!, transaction.TxnId);
                    _acceptedOrder.Add(e.EventId!);
                    _touchedUsers.Add(e.Sender);
                    if (e.Type == "m.room.member" && e.StateKey is not null)
                    {
                        _touchedUsers.Add(e.StateKey);
                    }
                    break;
                case ApplyOutcome.Duplicate or ApplyOutcome.DuplicateRejected:
                    DuplicatesDelivered++;
                    break;
            }
        }
    }
}
