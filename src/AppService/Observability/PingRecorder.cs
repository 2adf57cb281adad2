using System.Collections.Concurrent;

namespace AppService.Observability;

/// <summary>
/// The transaction ids of the last pings the homeserver sent us (<c>POST /_matrix/app/v1/ping</c>), so that the
/// startup self-check can tell that its own ping came back to this process and not to some other instance.
/// Bounded: anyone holding the hs_token could send many.
/// </summary>
public sealed class PingRecorder
{
    private const int Capacity = 32;
    private readonly ConcurrentQueue<string> _ids = new();

    public void Record(string transactionId)
    {
        _ids.Enqueue(transactionId);
        while (_ids.Count > Capacity && _ids.TryDequeue(out _))
        {
        }
    }

    public bool Saw(string transactionId) => _ids.Contains(transactionId, StringComparer.Ordinal);
}
