using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AppService.Admin;

/// <summary>
/// Keyset paging of the admin lists: <c>limit</c> (1 to <see cref="MaxPageSize"/>), and <c>from</c>, the opaque
/// <c>next_batch</c> token of the previous page (the last key of that page, base64url). A token we did not make is a 400.
/// </summary>
internal static class Paging
{
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1000;

    public static ValidationProblem? CheckLimit(int? limit, out int pageSize)
    {
        pageSize = limit ?? DefaultPageSize;
        return pageSize is < 1 or > MaxPageSize ? AdminProblems.Invalid("limit", $"limit must be between 1 and {MaxPageSize}.") : null;
    }

    /// <summary>
    /// The membership filter (if any) and the paging parameters of a list keyed by ids; <paramref name="sigil"/>
    /// starts every id of the list, so a token of another list is refused.
    /// </summary>
    public static ValidationProblem? CheckPage(string? membership, string? from, int? limit, char sigil, out int pageSize, out string? after)
    {
        after = null;
        if (membership is not null && !Matrix.Memberships.All.Contains(membership))
        {
            pageSize = 0;
            return AdminProblems.Invalid("membership", "membership must be one of join, invite, leave, ban, knock.");
        }

        if (CheckLimit(limit, out pageSize) is { } invalid)
        {
            return invalid;
        }

        return !string.IsNullOrEmpty(from) && (after = DecodeToken(from, sigil.ToString())) is null ? InvalidFrom() : null;
    }

    public static ValidationProblem InvalidFrom() => AdminProblems.Invalid("from", "from must be a next_batch token from a previous page.");

    /// <summary>
    /// The page out of a query that fetched <paramref name="pageSize"/> + 1 rows, and the token of the next page when
    /// that extra row was there (the key of the page's last row).
    /// </summary>
    public static (List<T> Rows, string? Next) Cut<T>(List<T> rows, int pageSize, Func<T, string> key) =>
        rows.Count > pageSize ? (rows.Take(pageSize).ToList(), EncodeToken(key(rows[pageSize - 1]))) : (rows, null);

    private static string EncodeToken(string id) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(id)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string? DecodeToken(string token, string prefix)
    {
        string base64 = token.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        try
        {
            string value = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
            // A token we did not make may decode to text PostgreSQL cannot hold (U+0000): not a token of ours.
            return value.StartsWith(prefix, StringComparison.Ordinal) && !value.Contains('\0', StringComparison.Ordinal) ? value : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>The problems every admin route answers with: 404 for an unknown id, 400 for a bad parameter.</summary>
internal static class AdminProblems
{
    public static ProblemHttpResult NotFound(string what, string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: $"No such {what}", detail: $"No {what} '{id}' is known.");

    public static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });
}
