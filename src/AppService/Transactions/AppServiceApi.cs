using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Unicode;
using System.Text.Json.Serialization;
using AppService.Hosting;
using AppService.Matrix;
using AppService.Observability;
using AppService.Registrations;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AppService.Transactions;

/// <summary>The empty JSON object every successful homeserver-facing answer carries.</summary>
public sealed record EmptyObject
{
    public static readonly EmptyObject Instance = new();
}

/// <summary>The protocol metadata answered for a protocol listed in the registration (spec: instances required).</summary>
public sealed record ProtocolResponse(
    [property: JsonPropertyName("user_fields")] string[] UserFields,
    [property: JsonPropertyName("location_fields")] string[] LocationFields,
    [property: JsonPropertyName("icon")] string Icon,
    [property: JsonPropertyName("field_types")] Dictionary<string, object> FieldTypes,
    [property: JsonPropertyName("instances")] object[] Instances);

/// <summary>
/// The routes the homeserver calls (spec: application service API), v1 and legacy forms, all behind the hs_token.
/// Success is exactly 200 with a JSON body; errors are Matrix error bodies.
/// </summary>
public static class AppServiceApi
{
    public static IEndpointRouteBuilder MapAppServiceApi(this IEndpointRouteBuilder routes)
    {
        // v1 (spec), the unstable prefix some servers still use for third-party and ping, and the legacy root
        // paths (Synapse < 1.90 with ?access_token=, Dendrite with legacy_paths).
        var v1 = Group(routes, "/_matrix/app/v1");
        var unstable = Group(routes, "/_matrix/app/unstable");
        var legacy = Group(routes, "");

        foreach (var group in new[] { v1, legacy })
        {
            group.MapPut("/transactions/{txnId}", (Delegate)PutTransactionAsync).AddEndpointFilter<TransactionMetricsFilter>();
            group.MapGet("/users/{userId}", QueryUser);
            group.MapGet("/rooms/{roomAlias}", QueryRoomAlias);
        }

        v1.MapPost("/ping", (Delegate)PingAsync);
        unstable.MapPost("/fi.mau.msc2659/ping", (Delegate)PingAsync);

        foreach (var group in new[] { v1, unstable })
        {
            group.MapGet("/thirdparty/protocol/{protocol}", GetProtocol);
            group.MapGet("/thirdparty/user/{protocol}", ThirdPartyLookup);
            group.MapGet("/thirdparty/location/{protocol}", ThirdPartyLookup);
            group.MapGet("/thirdparty/user", () => TypedResults.Ok(Array.Empty<object>()));
            group.MapGet("/thirdparty/location", () => TypedResults.Ok(Array.Empty<object>()));
        }

        return routes;
    }

    private static RouteGroupBuilder Group(IEndpointRouteBuilder routes, string prefix) =>
        routes.MapGroup(prefix).AddEndpointFilter<HomeserverAuthFilter>().AddEndpointFilter<RawPathIdFilter>().ExcludeFromDescription();

    public static JsonHttpResult<MatrixError> Error(int status, string errCode, string message) =>
        TypedResults.Json(new MatrixError(errCode, message), statusCode: status);

    internal static async Task<Results<Ok<EmptyObject>, JsonHttpResult<MatrixError>>> PutTransactionAsync(
        string txnId,
        HttpContext http,
        TransactionProcessor processor,
        IOptions<AppServiceOptions> options,
        IHostApplicationLifetime lifetime,
        ILogger<TransactionProcessor> logger)
    {
        var started = Stopwatch.GetTimestamp();
        using var document = await ReadJsonAsync(http, options.Value.MaxTransactionBytes, options.Value.MaxEventBytes, txnId, logger);
        if (document.Error is { } readError)
        {
            return readError;
        }

        ParsedTransaction parsed;
        try
        {
            parsed = TransactionParser.Parse(document.Document!, options.Value.MaxEventBytes, document.TooDeep);
        }
        catch (TransactionBodyException ex)
        {
            Log.TransactionRefused(logger, txnId, ex.ErrCode, ex.Message);
            return Error(StatusCodes.Status400BadRequest, ex.ErrCode, ex.Message);
        }

        try
        {
            // Not the request's token: a homeserver that times out must not roll back work that is about to commit;
            // its retry waits on our locks and is answered once this commit is done.
            var result = await processor.ProcessAsync(txnId, parsed, lifetime.ApplicationStopping);
            Log.TransactionProcessed(logger, txnId, result.NewEvents, result.DuplicateEvents, result.RejectedEvents,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return TypedResults.Ok(EmptyObject.Instance);
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            Log.DatabaseUnavailable(logger, txnId, ex.GetBaseException().Message);
            return Error(StatusCodes.Status503ServiceUnavailable, MatrixError.Codes.Unknown, "Database unavailable; retry later");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Only reached when even the safety net failed. PostgreSQL's Detail/Where can hold event content: never logged.
            if (ex is PostgresException || ex.InnerException is PostgresException)
            {
                Log.TransactionFailedSafe(logger, txnId, TransactionProcessor.FailureText(ex));
            }
            else
            {
                Log.TransactionFailed(logger, ex, txnId);
            }

            return Error(StatusCodes.Status500InternalServerError, MatrixError.Codes.Unknown, "Transaction not processed; retry later");
        }
    }

    /// <summary>The parsed body and the pooled buffer it points into (JsonDocument keeps no copy): disposed together.</summary>
    private sealed class JsonBody(JsonDocument? document, byte[]? buffer, JsonHttpResult<MatrixError>? error) : IDisposable
    {
        private byte[]? _buffer = buffer;

        public JsonDocument? Document { get; } = document;

        public JsonHttpResult<MatrixError>? Error { get; } = error;

        /// <summary>Events flattened because they nest too deep, by index in <c>events</c> (<see cref="DeepValues"/>).</summary>
        public IReadOnlyDictionary<int, RejectedEvent>? TooDeep { get; init; }

        public void Dispose()
        {
            Document?.Dispose();
            if (Interlocked.Exchange(ref _buffer, null) is { } b)
            {
                ArrayPool<byte>.Shared.Return(b);
            }
        }
    }

    /// <summary>
    /// Reads the body ourselves into a pooled buffer, counting decoded bytes (chunk framing does not count toward
    /// <c>MaxTransactionBytes</c>), checks it is UTF-8, then parses it. Nothing we do with the document
    /// recurses; an event nesting too deep is rejected on its own, never the body (<see cref="DeepValues"/>).
    /// </summary>
    private static async Task<JsonBody> ReadJsonAsync(HttpContext http, long maxBytes, int maxEventBytes, string txnId, ILogger logger)
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
        catch (Exception ex) when (BodyReadFailure(ex, http.RequestAborted.IsCancellationRequested) is { } failure)
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
            return new JsonBody(document, buffer, null);
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
            return new JsonBody(document, buffer, null) { TooDeep = tooDeep };
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: last line of defence should the linear pass meet text it cannot read.
            ArrayPool<byte>.Shared.Return(buffer);
            Log.TransactionRefused(logger, txnId, MatrixError.Codes.NotJson, ex.Message);
            return new JsonBody(null, null, Error(StatusCodes.Status400BadRequest, MatrixError.Codes.NotJson, "The body is not valid JSON"));
        }

        JsonBody Refused(int status, string errCode, string message)
        {
            if (status != StatusCodes.Status499ClientClosedRequest)
            {
                Log.TransactionRefused(logger, txnId, errCode, message);
            }

            return new JsonBody(null, null, Error(status, errCode, message));
        }
    }

    /// <summary>
    /// What a failure while reading the request body means for the answer: the server's own 413 and 408 (body-read
    /// timeout) as Matrix errors, any other malformed request (bad chunk framing, an I/O error while the client is still
    /// connected) 400 M_NOT_JSON, and a client that went away 499 (nobody reads it). Null for anything else, which is ours to report.
    /// </summary>
    public static (int Status, string ErrCode, string Message)? BodyReadFailure(Exception exception, bool clientAborted) => exception switch
    {
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => (StatusCodes.Status413PayloadTooLarge, MatrixError.Codes.TooLarge, "The body is too large"),
        BadHttpRequestException { StatusCode: StatusCodes.Status408RequestTimeout } => (StatusCodes.Status408RequestTimeout, MatrixError.Codes.Unknown, "Timed out reading the body"),
        BadHttpRequestException => (StatusCodes.Status400BadRequest, MatrixError.Codes.NotJson, "The body could not be read (malformed request framing)"),
        OperationCanceledException or IOException when clientAborted => (StatusCodes.Status499ClientClosedRequest, MatrixError.Codes.Unknown, "The client closed the request"),
        // The client is still there (e.g. Kestrel refusing a chunk size that overflows): a malformed request, not ours.
        IOException => (StatusCodes.Status400BadRequest, MatrixError.Codes.NotJson, "The body could not be read (malformed request framing)"),
        _ => null,
    };

    /// <summary>Faults worth a retry by the homeserver: the database unreachable, restarting, or contended.</summary>
    public static bool IsTransient(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case RetryLimitExceededException:
                case TimeoutException:
                case System.Net.Sockets.SocketException:
                case NpgsqlException { IsTransient: true }:
                case NpgsqlException and not PostgresException:
                case PostgresException pg when IsEnvironmental(pg.SqlState):
                    return true;
            }
        }

        return false;
    }

    /// <summary>
    /// PostgreSQL errors that say something about the server, not about the events: they must never get an event
    /// quarantined by the safety net (a retry later succeeds). 57014 statement_timeout / cancel (e.g. waiting on a room
    /// lock a long resync holds), 25006 read-only transaction (a failover in progress), and the classes 08 connection,
    /// 53 insufficient resources, 55 object not in prerequisite state (lock not available), 57 operator intervention,
    /// 58 system error. Npgsql's own IsTransient leaves 57014 and 25006 out.
    /// </summary>
    public static bool IsEnvironmental(string sqlState) =>
        sqlState is PostgresErrorCodes.QueryCanceled or PostgresErrorCodes.ReadOnlySqlTransaction
        || sqlState.StartsWith("08", StringComparison.Ordinal) || sqlState.StartsWith("53", StringComparison.Ordinal)
        || sqlState.StartsWith("55", StringComparison.Ordinal) || sqlState.StartsWith("57", StringComparison.Ordinal)
        || sqlState.StartsWith("58", StringComparison.Ordinal);

    internal static async Task<Results<Ok<EmptyObject>, JsonHttpResult<MatrixError>>> PingAsync(HttpContext http, PingRecorder pings)
    {
        try
        {
            using var body = await JsonDocument.ParseAsync(http.Request.Body, default, http.RequestAborted);
            if (body.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Error(StatusCodes.Status400BadRequest, MatrixError.Codes.BadJson, "The body must be a JSON object");
            }

            // transaction_id is a string or null (Synapse sends null when the appservice gave none).
            if (body.RootElement.TryGetProperty("transaction_id", out var id) && id.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                return Error(StatusCodes.Status400BadRequest, MatrixError.Codes.BadJson, "transaction_id must be a string or null");
            }

            if (id.ValueKind == JsonValueKind.String)
            {
                pings.Record(id.GetString()!);
            }
        }
        catch (JsonException)
        {
            return Error(StatusCodes.Status400BadRequest, MatrixError.Codes.NotJson, "The body is not valid JSON");
        }

        return TypedResults.Ok(EmptyObject.Instance);
    }

    /// <summary>We never create users on demand: 404 tells the homeserver the user does not exist.</summary>
    internal static JsonHttpResult<MatrixError> QueryUser(string userId) =>
        Error(StatusCodes.Status404NotFound, MatrixError.Codes.NotFound, "No such user");

    /// <summary>We never create rooms on demand: 404 tells the homeserver the alias does not exist.</summary>
    internal static JsonHttpResult<MatrixError> QueryRoomAlias(string roomAlias) =>
        Error(StatusCodes.Status404NotFound, MatrixError.Codes.NotFound, "No such room alias");

    internal static Results<Ok<ProtocolResponse>, JsonHttpResult<MatrixError>> GetProtocol(string protocol, Registration registration) =>
        registration.Protocols.Contains(protocol, StringComparer.Ordinal)
            ? TypedResults.Ok(new ProtocolResponse([], [], "", [], []))
            : Error(StatusCodes.Status404NotFound, MatrixError.Codes.NotFound, "Unknown protocol");

    internal static Results<Ok<object[]>, JsonHttpResult<MatrixError>> ThirdPartyLookup(string protocol, Registration registration) =>
        registration.Protocols.Contains(protocol, StringComparer.Ordinal)
            ? TypedResults.Ok(Array.Empty<object>())
            : Error(StatusCodes.Status404NotFound, MatrixError.Codes.NotFound, "Unknown protocol");
}
