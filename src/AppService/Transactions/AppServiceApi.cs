using AppService.Data;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using AppService.Hosting;
using AppService.Matrix;
using AppService.Observability;
using AppService.Registrations;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
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

    /// <summary>
    /// The endpoint's log category, its own (the processor logs under <see cref="TransactionProcessor"/>): configure
    /// <c>Logging:LogLevel:AppService.Transactions.AppServiceApi</c> (Information is one line per transaction).
    /// </summary>
    public static readonly string LogCategory = typeof(AppServiceApi).FullName!;

    internal static async Task<Results<Ok<EmptyObject>, JsonHttpResult<MatrixError>>> PutTransactionAsync(
        string txnId,
        HttpContext http,
        TransactionProcessor processor,
        IOptions<AppServiceOptions> options,
        IHostApplicationLifetime lifetime,
        ILoggerFactory loggers)
    {
        var started = Stopwatch.GetTimestamp();
        var logger = loggers.CreateLogger(LogCategory);
        using var body = await TransactionBody.ReadAsync(http, options.Value.MaxTransactionBytes, options.Value.MaxEventBytes, txnId, logger);
        if (body.Error is { } readError)
        {
            return readError;
        }

        ParsedTransaction parsed;
        try
        {
            parsed = TransactionParser.Parse(body.Document!, options.Value.MaxEventBytes, body.TooDeep);
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
        catch (Exception ex) when (DatabaseFailures.IsTransient(ex))
        {
            Log.DatabaseUnavailable(logger, txnId, ex.GetBaseException().Message);
            // Nothing was committed. The homeserver retries the same transaction; Retry-After says when (a failover
            // takes a few seconds, docs/operations.md "High availability"). A connection that failed here (e.g. 25006
            // read-only: a demoted primary) is not pooled again: ConnectionHygiene clears the pool when a batch fails.
            http.Response.Headers.RetryAfter = ApiExceptionHandler.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
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
