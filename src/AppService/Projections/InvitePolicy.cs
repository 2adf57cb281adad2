using System.Text.RegularExpressions;

namespace AppService.Projections;

/// <summary>
/// Whose invites the bot accepts (<c>AppService:AutoJoin</c>): every join costs a whole-room resync, so invite spam
/// from anywhere must not make the bot join and fetch rooms. Patterns match the inviter's whole user id; with none
/// configured, anyone on the bot's own server is allowed.
/// </summary>
public sealed class InvitePolicy
{
    private readonly Regex[] _allowed;

    public InvitePolicy(bool enabled, IEnumerable<string> allowedInviters, string botUserId)
    {
        Enabled = enabled;
        var patterns = allowedInviters.Where(p => !string.IsNullOrWhiteSpace(p)).ToList();
        if (patterns.Count == 0)
        {
            string server = RedactionAuth.DomainOf(botUserId) ?? "";
            patterns.Add("@[^:]+:" + Regex.Escape(server));
        }

        _allowed = patterns
            .Select(p => new Regex($"^(?:{p})$", RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100)))
            .ToArray();
    }

    /// <summary>Whether the bot joins rooms it is invited to at all.</summary>
    public bool Enabled { get; }

    /// <summary>Whether an invite from <paramref name="inviter"/> is accepted (a pattern that times out does not match).</summary>
    public bool Allows(string inviter)
    {
        foreach (var regex in _allowed)
        {
            try
            {
                if (regex.IsMatch(inviter))
                {
                    return true;
                }
            }
            catch (RegexMatchTimeoutException)
            {
            }
        }

        return false;
    }
}
