using System.Security.Cryptography;
using System.Text;

namespace AppService.Hosting;

/// <summary>
/// A configured secret (hs_token, AdminToken) that presented tokens are compared with in constant time. Both sides
/// are hashed first, so neither the content nor the length of the secret leaks through timing.
/// </summary>
public sealed class SecretToken(string expected)
{
    private readonly byte[] _expectedHash = Hash(expected);

    public bool Matches(string presented) => CryptographicOperations.FixedTimeEquals(Hash(presented), _expectedHash);

    /// <summary>The token of an <c>Authorization: Bearer …</c> header; null when the header is absent or another scheme.</summary>
    public static string? FromBearerHeader(string? authorization) =>
        authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? authorization["Bearer ".Length..].Trim()
            : null;

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
