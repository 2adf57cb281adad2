using System.Text.Json;
using System.Text.Unicode;

namespace AppService.IntegrationTests.Fuzz;

/// <summary>What the transaction route must answer for a body, decided from the bytes alone (issue 8's contract).</summary>
public enum ExpectedAnswer
{
    /// <summary>Valid UTF-8 JSON, an object with an <c>events</c> array, within the limit: 200 whatever the events hold.</summary>
    Ok,

    /// <summary>Within the limit but not that: 400.</summary>
    BadRequest,

    /// <summary>Over the limit: 413.</summary>
    TooLarge,

    /// <summary>The top level names <c>events</c> more than once: RFC 8259 leaves duplicate names open, so 200 or 400.</summary>
    OkOrBadRequest,
}

/// <summary>
/// The oracle for property (a), written independently of the generators and of the service: strict UTF-8,
/// then System.Text.Json with a depth limit far above anything generated (the spec sets none).
/// </summary>
public static class BodyContract
{
    public static ExpectedAnswer Expected(ReadOnlySpan<byte> body, long maxBytes)
    {
        if (body.Length > maxBytes)
        {
            return ExpectedAnswer.TooLarge;
        }

        if (!Utf8.IsValid(body))
        {
            return ExpectedAnswer.BadRequest;
        }

        try
        {
            using var document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = 100_000 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return ExpectedAnswer.BadRequest;
            }

            var events = document.RootElement.EnumerateObject().Where(IsEvents).ToList();
            return events.Count switch
            {
                0 => ExpectedAnswer.BadRequest,
                1 => events[0].Value.ValueKind == JsonValueKind.Array ? ExpectedAnswer.Ok : ExpectedAnswer.BadRequest,
                _ => ExpectedAnswer.OkOrBadRequest,
            };
        }
        catch (JsonException)
        {
            return ExpectedAnswer.BadRequest;
        }
    }

    private static bool IsEvents(JsonProperty property)
    {
        try
        {
            return property.NameEquals("events");
        }
        catch (InvalidOperationException)
        {
            return false; // a name holding a lone surrogate escape is not "events"
        }
    }

    public static bool Allows(ExpectedAnswer expected, int status) => expected switch
    {
        ExpectedAnswer.Ok => status == 200,
        ExpectedAnswer.BadRequest => status == 400,
        ExpectedAnswer.TooLarge => status == 413,
        ExpectedAnswer.OkOrBadRequest => status is 200 or 400,
        _ => false,
    };
}
