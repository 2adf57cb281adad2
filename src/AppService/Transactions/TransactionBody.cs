using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;
using AppService.Matrix;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AppService.Transactions;

/// <summary>
/// A transaction's body, read with bounds: the parsed document and the pooled buffer it points into (JsonDocument
/// keeps no copy), disposed together; or the Matrix error to answer instead (413 over <c>MaxTransactionBytes</c>,
/// 400 not UTF-8 or not JSON or malformed framing, 408 the server's read timeout, 499 the client went away).
/// </summary>
public sealed class TransactionBody : IDisposable
{
    private byte[]? _buffer;

    private TransactionBody(JsonDocument? document, byte[]? buffer, JsonHttpResult<MatrixError>? error)
    {
        Document = document;
        _buffer = buffer;
        Error = error;
    }

    /// <summary>The body, when it could be read; null when <see cref="Error"/> is the answer.</summary>
    public JsonDocument? Document { get; }

    public JsonHttpResult<MatrixError>? Error { get; }

    /// <summary>Events flattened because they nest too deep, by index in <c>events</c> (<see cref="DeepValues"/>).</summary>
    public IReadOnlyDictionary<int, RejectedEvent>? TooDeep { get; private init; }

    public void Dispose()
    {
        Document?.Dispose();
        if (Interlocked.Exchange(ref _buffer, null) is { } b)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }

    /// <summary>
    /// Reads the body ourselves into a pooled buffer, counting decoded bytes (chunk framing does not count toward
    /// <c>MaxTransactionBytes</c>), checks it is UTF-8, then parses it. Nothing we do with the document
    /// recurses; an event nesting too deep is rejected on its own, never the body (<see cref="DeepValues"/>).
    /// </summary>
    public static async Task<TransactionBody> ReadAsync(HttpContext http, long maxBytes, int maxEventBytes, string txnId, ILogger logger)
    {
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null; // we count decoded bytes below; the server's limit counts chunk framing
        }

        if (http.Request.ContentLength > maxBytes)
        {
            return Refused(StatusCodes.Status413PayloadTooLarge, MatrixError.Codes.TooLarge, $"The body is larger than {maxBytes} bytes");
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(maxBytes + 1, http.Request.ContentLength + 1 ?? 64 * 1024));
        int length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > maxBytes)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        return Refused(StatusCodes.Status413PayloadTooLarge, MatrixError.Codes.TooLarge, $"The body is larger than {maxBytes} bytes");
                    }

                    byte[] larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(maxBytes + 1, (long)buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                int read = await http.Request.Body.ReadAsync(buffer.AsMemory(length, (int)Math.Min(buffer.Length, maxBytes + 1) - length), http.RequestAborted);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > maxBytes)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return Refused(StatusCodes.Status413PayloadTooLarge, MatrixError.Codes.TooLarge, $"The body is larger than {maxBytes} bytes");
                }
            }
        }
        catch (Exception ex) when (ReadFailure(ex, http.RequestAborted.IsCancellationRequested) is { } failure)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (failure.Status == StatusCodes.Status499ClientClosedRequest)
            {
                Log.TransactionAborted(logger, txnId); // the client went away: nobody reads the answer, and it is not our failure
            }

            return Refused(failure.Status, failure.ErrCode, failure.Message);
        }

        var body = buffer.AsMemory(0, length);
        if (!Utf8.IsValid(body.Span))
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return Refused(StatusCodes.Status400BadRequest, MatrixError.Codes.NotJson, "The body is not valid UTF-8");
        }

        try
        {
            // Depth-limited: JsonDocument's parse cost grows with size × depth (DeepValues). Nearly every body parses here.
            var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = DeepValues.BodyMaxDepth });
            return new TransactionBody(document, buffer, null);
        }
        catch (JsonException)
        {
            // Invalid JSON, or nesting deeper than an event may: one linear pass tells them apart and flattens the
            // too-deep events in place, to be rejected one by one.
        }

        try
        {
            var tooDeep = DeepValues.Flatten(buffer.AsSpan(0, length), maxEventBytes);
            var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = DeepValues.BodyMaxDepth + 1 });
            return new TransactionBody(document, buffer, null) { TooDeep = tooDeep };
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: last line of defence should the linear pass meet text it cannot read.
            ArrayPool<byte>.Shared.Return(buffer);
            Log.TransactionRefused(logger, txnId, MatrixError.Codes.NotJson, ex.Message);
            return new TransactionBody(null, null, AppServiceApi.Error(StatusCodes.Status400BadRequest, MatrixError.Codes.NotJson, "The body is not valid JSON"));
        }

        TransactionBody Refused(int status, string errCode, string message)
        {
            if (status != StatusCodes.Status499ClientClosedRequest)
            {
                Log.TransactionRefused(logger, txnId, errCode, message);
            }

            return new TransactionBody(null, null, AppServiceApi.Error(status, errCode, message));
        }
    }

    /// <summary>
    /// What a failure while reading the request body means for the answer: the server's own 413 and 408 (body-read
    /// timeout) as Matrix errors, any other malformed request (bad chunk framing, an I/O error while the client is still
    /// connected) 400 M_NOT_JSON, and a client that went away 499 (nobody reads it). Null for anything else, which is ours to report.
    /// </summary>
    public static (int Status, string ErrCode, string Message)? ReadFailure(Exception exception, bool clientAborted) => exception switch
    {
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => (StatusCodes.Status413PayloadTooLarge, MatrixError.Codes.TooLarge, "The body is too large"),
        BadHttpRequestException { StatusCode: StatusCodes.Status408RequestTimeout } => (StatusCodes.Status408RequestTimeout, MatrixError.Codes.Unknown, "Timed out reading the body"),
        BadHttpRequestException => (StatusCodes.Status400BadRequest, MatrixError.Codes.NotJson, "The body could not be read (malformed request framing)"),
        OperationCanceledException or IOException when clientAborted => (StatusCodes.Status499ClientClosedRequest, MatrixError.Codes.Unknown, "The client closed the request"),
        // The client is still there (e.g. Kestrel refusing a chunk size that overflows): a malformed request, not ours.
        IOException => (StatusCodes.Status400BadRequest, MatrixError.Codes.NotJson, "The body could not be read (malformed request framing)"),
        _ => null,
    };
}
