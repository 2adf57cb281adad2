using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace AppService.Transactions;

/// <summary>
/// Takes the legacy <c>?access_token=</c> (the hs_token of Synapse &lt; 1.90 and Dendrite <c>legacy_auth</c>) out
/// of the request's query string before anything can log it, and keeps it in <see cref="HttpContext.Items"/> for
/// <see cref="HomeserverAuth"/>. This runs where the HttpContext is created: the hosting layer writes its
/// "Request starting ... ?query" line before the first middleware runs, so a middleware would be too late for it,
/// and a logging setting (e.g. <c>Logging__Console__LogLevel__Default=Information</c>, a provider-level rule that
/// beats the code's category filters) could then print the token.
/// </summary>
internal sealed class QueryTokenStrippingContextFactory(IServiceProvider services) : IHttpContextFactory
{
    public const string ItemKey = "AppService.QueryAccessToken";
    private const string Parameter = "access_token";

    private readonly DefaultHttpContextFactory _inner = new(services);

    public HttpContext Create(IFeatureCollection featureCollection)
    {
        string? token = StripToken(featureCollection.Get<IHttpRequestFeature>());
        var context = _inner.Create(featureCollection);
        if (token is not null)
        {
            context.Items[ItemKey] = token;
        }

        return context;
    }

    public void Dispose(HttpContext httpContext) => _inner.Dispose(httpContext);

    /// <summary>
    /// Removes the <c>access_token</c> parameter from the raw query string; returns its value (comma-joined if
    /// repeated, as <c>Request.Query</c> would give it), or null when there was none.
    /// </summary>
    internal static string? StripToken(IHttpRequestFeature? request)
    {
        if (request is null || request.QueryString.IndexOf(Parameter, StringComparison.OrdinalIgnoreCase) < 0)
        {
            return null;
        }

        var kept = new List<KeyValuePair<string, StringValues>>();
        var token = StringValues.Empty;
        bool found = false;
        foreach (var (key, value) in QueryHelpers.ParseQuery(request.QueryString))
        {
            if (string.Equals(key, Parameter, StringComparison.Ordinal))
            {
                token = value;
                found = true;
            }
            else
            {
                kept.Add(new(key, value));
            }
        }

        if (!found)
        {
            return null;
        }

        request.QueryString = QueryString.Create(kept).ToUriComponent();
        return token.ToString();
    }
}
