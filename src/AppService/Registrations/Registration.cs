namespace AppService.Registrations;

/// <summary>An application service registration, as read from registration.yaml.</summary>
public sealed record Registration(
    string Id,
    string? Url,
    string AsToken,
    string HsToken,
    string SenderLocalpart,
    RegistrationNamespaces Namespaces,
    bool RateLimited,
    bool ReceiveEphemeral,
    IReadOnlyList<string> Protocols)
{
    /// <summary>The bot's user id on <paramref name="serverName"/>.</summary>
    public string BotUserId(string serverName) => $"@{SenderLocalpart}:{serverName}";
}

public sealed record RegistrationNamespaces(
    IReadOnlyList<RegistrationNamespace> Users,
    IReadOnlyList<RegistrationNamespace> Aliases,
    IReadOnlyList<RegistrationNamespace> Rooms);

public sealed record RegistrationNamespace(string Regex, bool Exclusive);
