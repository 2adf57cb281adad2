using System.Security.Cryptography;
using System.Text;
using AppService.Hosting;
using Microsoft.Extensions.Options;

namespace AppService.Admin;

/// <summary>Requires <c>Authorization: Bearer {AppService:AdminToken}</c>; 401 ProblemDetails otherwise.</summary>
internal sealed class AdminAuthFilter(IOptions<AppServiceOptions> options) : IEndpointFilter
{
    private readonly byte[] _expectedHash = SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.AdminToken));

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        string header = context.HttpContext.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim())), _expectedHash))
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
