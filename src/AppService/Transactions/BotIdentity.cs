namespace AppService.Transactions;

/// <summary>The appservice's own bot user, <c>@{sender_localpart}:{ServerName}</c>.</summary>
public sealed record BotIdentity(string UserId);
