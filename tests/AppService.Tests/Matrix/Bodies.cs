using System.Text.Json;
using AppService.Matrix;

namespace AppService.Tests.Matrix;

/// <summary>Transaction bodies as JSON text, parsed the way the endpoint parses them; owns the documents.</summary>
internal sealed class Bodies : IDisposable
{
    public const int MaxEventBytes = 65536;

    private readonly List<JsonDocument> _documents = [];

    /// <summary>A valid message event.</summary>
    public static string Message(string eventId, string body = "hi") =>
        $$$"""{"event_id":"{{{eventId}}}","room_id":"!room:hs.test","type":"m.room.message","sender":"@alice:hs.test","origin_server_ts":1780000000000,"content":{"msgtype":"m.text","body":"{{{body}}}"}}""";

    /// <summary><c>{"events":[...]}</c> around the given event JSON texts.</summary>
    public static string Body(params string[] events) => $$"""{"events":[{{string.Join(",", events)}}]}""";

    public JsonDocument Document(string json)
    {
        var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = int.MaxValue }); // as the service parses bodies
        _documents.Add(document);
        return document;
    }

    public ParsedTransaction Parse(string body, int maxEventBytes = MaxEventBytes) =>
        TransactionParser.Parse(Document(body), maxEventBytes);

    public ParsedTransaction Events(params string[] events) => Parse(Body(events));

    /// <summary>One event through <see cref="TransactionParser.ParseEvent"/>: the event, or the rejection.</summary>
    public (MatrixEvent? Event, RejectedEvent? Rejected) Event(string json, int maxEventBytes = MaxEventBytes)
    {
        var e = TransactionParser.ParseEvent(Document(json).RootElement, maxEventBytes, out var rejected);
        return (e, rejected);
    }

    /// <summary>One event that must be accepted.</summary>
    public MatrixEvent Accepted(string json)
    {
        var (e, rejected) = Event(json);
        if (e is null)
        {
            Assert.Fail($"The event was rejected: {rejected?.Reason}");
        }

        return e;
    }

    public void Dispose()
    {
        foreach (var document in _documents)
        {
            document.Dispose();
        }
    }
}
