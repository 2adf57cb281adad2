using Microsoft.AspNetCore.Http.Features;

namespace AppService.Matrix;

/// <summary>
/// Matrix ids in paths are URL-encoded, and room v3 event ids contain '/' ('%2F'). The server decodes every escape in
/// the path except '%2F', so a route value can hold a literal "%2F", and "%252F" cannot be told from it. This filter
/// replaces each string argument that came from a path segment with that segment of the raw request target, decoded
/// exactly once. Where no raw target is available (an in-process test server), '%2F', the one escape left, is decoded.
/// </summary>
public sealed class RawPathIdFilter : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        string? rawTarget = http.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(rawTarget) || !rawTarget.StartsWith('/'))
        {
            for (int i = 0; i < context.Arguments.Count; i++)
            {
                if (context.Arguments[i] is string value && value.Contains('%', StringComparison.Ordinal))
                {
                    context.Arguments[i] = value.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
                }
            }
        }
        else if (rawTarget.Contains('%', StringComparison.Ordinal))
        {
            int query = rawTarget.IndexOf('?', StringComparison.Ordinal);
            string[] raw = (query >= 0 ? rawTarget[..query] : rawTarget).Split('/');
            string[] decoded = (http.Request.PathBase + http.Request.Path).Value!.Split('/');
            if (raw.Length == decoded.Length)
            {
                for (int i = 0; i < context.Arguments.Count; i++)
                {
                    if (context.Arguments[i] is string value && value.Contains('%', StringComparison.Ordinal))
                    {
                        int segment = Array.IndexOf(decoded, value);
                        if (segment >= 0)
                        {
                            context.Arguments[i] = Uri.UnescapeDataString(raw[segment]);
                        }
                    }
                }
            }
        }

        return next(context);
    }
}
