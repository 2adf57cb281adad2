using AppService.Hosting;
using Microsoft.Extensions.Options;

namespace AppService.Admin;

/// <summary>Requires <c>Authorization: Bearer {AppService:AdminToken}</c>; 401 ProblemDetails otherwise.</summary>
internal sealed class AdminAuthFilter(IOptions<AppServiceOptions> options) : IEndpointFilter
{
    private readonly SecretToken _adminToken = new(options.Value.AdminToken);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        string? token = SecretToken.FromBearerHeader(context.HttpContext.Request.Headers.Authorization.ToString());
        if (token is not null && _adminToken.Matches(token))
        {
            return await next(context);
        }

        context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
        return TypedResults.Problem(
            statusCode: StatusCodes.Status401Unauthorized,
            title: "Unauthorized",
            detail: "The admin API needs 'Authorization: Bearer <AppService:AdminToken>'.");
    }
}
