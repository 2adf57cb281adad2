using AppService.Hosting;
using AppService.Matrix;
using AppService.Registrations;
using Microsoft.Extensions.Primitives;

namespace AppService.Transactions;

/// <summary>
/// Authenticates every homeserver-facing route with the registration's hs_token: <c>Authorization: Bearer</c> (spec
/// v1.4+) or the legacy <c>?access_token=</c>. Missing: 401 M_MISSING_TOKEN. Wrong, or both present and different:
/// 403 M_FORBIDDEN. Compared in constant time; the token and the query string are never logged.
/// </summary>
public sealed class HomeserverAuth(Registration registration)
{
    private readonly SecretToken _hsToken = new(registration.HsToken);

    public MatrixError? Check(HttpRequest request, out int statusCode)
    {
        string? header = BearerToken(request.Headers.Authorization);
        // The legacy ?access_token= was taken out of the URL when the request came in (QueryTokenStrippingContextFactory).
        string? query = request.HttpContext.Items.TryGetValue(QueryTokenStrippingContextFactory.ItemKey, out var q) ? q as string : null;
        statusCode = StatusCodes.Status200OK;

        if (header is null && query is null)
        {
            statusCode = StatusCodes.Status401Unauthorized;
            return new MatrixError(MatrixError.Codes.MissingToken, "Missing homeserver token");
        }

        if (header is not null && query is not null && !string.Equals(header, query, StringComparison.Ordinal))
        {
            statusCode = StatusCodes.Status403Forbidden;
            return new MatrixError(MatrixError.Codes.Forbidden, "The Authorization header and access_token differ");
        }

        if (!_hsToken.Matches(header ?? query!))
        {
            statusCode = StatusCodes.Status403Forbidden;
            return new MatrixError(MatrixError.Codes.Forbidden, "Invalid homeserver token");
        }

        return null;
    }

    private static string? BearerToken(StringValues authorization)
    {
        string value = authorization.ToString();

        // Anything but a Bearer credential is a token we cannot accept, not a missing one.
        return string.IsNullOrEmpty(value) ? null : SecretToken.FromBearerHeader(value) ?? value;
    }
}

/// <summary>Endpoint filter that applies <see cref="HomeserverAuth"/> to a route group.</summary>
internal sealed class HomeserverAuthFilter(HomeserverAuth auth, ILogger<HomeserverAuthFilter> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var error = auth.Check(context.HttpContext.Request, out int status);
        if (error is null)
        {
            return await next(context);
        }

        Log.HomeserverAuthFailed(logger, context.HttpContext.Request.Path.ToString(), error.ErrCode);
        return TypedResults.Json(error, statusCode: status);
    }
}
