namespace AppService.Simulator.Workload;

/// <summary>Identifier formats per room version (facts §6): v1–v2 <c>$opaque:server</c>, v3 standard base64
/// (with <c>/</c> and <c>+</c>), v4+ URL-safe base64; room ids <c>!opaque:server</c>, v12 <c>!</c> + hash, no server.</summary>
internal static class MatrixIds
{
    private const string Alphanumeric = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    public static string EventId(SeededRandom rng, string roomVersion, string serverName) => roomVersion switch
    {
        "1" or "2" => "$" + Opaque(rng, 18) + ":" + serverName,
        "3" => "$" + StandardBase64WithSlashOrPlus(rng),
        _ => "$" + UrlSafeBase64(rng),
    };

    public static string RoomId(SeededRandom rng, string roomVersion, string serverName) =>
        roomVersion == "12" ? "!" + UrlSafeBase64(rng) : "!" + Opaque(rng, 18) + ":" + serverName;

    /// <summary>The server part of a user or v1/v2 event id (after the first ':'), or null.</summary>
    public static string? Domain(string id)
    {
        var colon = id.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 ? id[(colon + 1)..] : null;
    }

    /// <summary>True when the id needs percent-encoding in a URL path segment.</summary>
    public static bool NeedsEscaping(string id) => Uri.EscapeDataString(id) != id;

    private static string Opaque(SeededRandom rng, int length)
    {
        return string.Create(length, rng, static (span, r) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = Alphanumeric[r.Next(Alphanumeric.Length)];
            }
        });
    }

    private static string UnpaddedBase64(SeededRandom rng)
    {
        Span<byte> hash = stackalloc byte[32];
        rng.NextBytes(hash);
        return Convert.ToBase64String(hash).TrimEnd('=');
    }

    /// <summary>v3 ids: the standard alphabet. Every generated v3 id contains '/' or '+' so that the
    /// URL-encoding path is always exercised (a random hash lacks both about a quarter of the time).</summary>
    private static string StandardBase64WithSlashOrPlus(SeededRandom rng)
    {
        var id = UnpaddedBase64(rng);
        if (id.Contains('/', StringComparison.Ordinal) || id.Contains('+', StringComparison.Ordinal))
        {
            return id;
        }
        var chars = id.ToCharArray();
        chars[rng.Next(chars.Length)] = rng.Chance(0.5) ? '/' : '+';
        return new string(chars);
    }

    private static string UrlSafeBase64(SeededRandom rng) => UnpaddedBase64(rng).Replace('+', '-').Replace('/', '_');
}
