using AppService.Hosting;
using Microsoft.Extensions.Options;

namespace AppService.Admin;

/// <summary>
/// Requires <c>Authorization: Bearer {AppService:AdminToken}</c>; 401 ProblemDetails otherwise, saying which of the
/// three it was (no header, another scheme, a token that is not the admin token) without ever echoing the token.
/// </summary>
internal sealed class AdminAuthFilter(IOptions<AppServiceOptions> options) : IEndpointFilter
{
    private const string Where = "scripts/run.sh keeps it in .data/admin-token";

    private readonly SecretToken _adminToken = new(options.Value.AdminToken);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        string authorization = context.HttpContext.Request.Headers.Authorization.ToString();
        string? token = SecretToken.FromBearerHeader(authorization);
        if (token is not null && _adminToken.Matches(token))
        {
            return await next(context);
        }

        (string detail, string challenge) = (authorization.Length, token) switch
        {
            (0, _) => ($"No Authorization header: the admin API needs 'Authorization: Bearer <AppService:AdminToken>' ({Where}).", "Bearer"),
            (_, null) => ($"The Authorization header is not a bearer token: send 'Authorization: Bearer <AppService:AdminToken>' ({Where}).", "Bearer"),
            _ => ($"The bearer token is not AppService:AdminToken ({Where}; check for a stale or truncated copy).", "Bearer error=\"invalid_token\""),
        };
        context.HttpContext.Response.Headers.WWWAuthenticate = challenge;
        return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized", detail: detail);
    }
}
