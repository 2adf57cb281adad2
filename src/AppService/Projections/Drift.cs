namespace AppService.Projections;

/// <summary>One entry of the homeserver's <c>/joined_members</c> answer.</summary>
public sealed record JoinedMember(string? DisplayName, string? AvatarUrl);

/// <summary>How our joined members differ from the homeserver's, as user ids.</summary>
public sealed record DriftReport(IReadOnlyList<string> Missing, IReadOnlyList<string> Extra, IReadOnlyList<string> ProfileDiffers)
{
    public bool Found => Missing.Count > 0 || Extra.Count > 0 || ProfileDiffers.Count > 0;

    /// <summary>A short line for logs and the job's detail, naming at most a few users per kind.</summary>
    public string Describe() =>
        $"{Missing.Count} missing{Sample(Missing)}, {Extra.Count} extra{Sample(Extra)}, {ProfileDiffers.Count} with another profile{Sample(ProfileDiffers)}";

    private static string Sample(IReadOnlyList<string> users) =>
        users.Count == 0 ? "" : $" ({string.Join(", ", users.Take(3))}{(users.Count > 3 ? ", ..." : "")})";
}

/// <summary>
/// The drift check: our joined member rows against the homeserver's <c>/joined_members</c>. A row whose event was
/// processed after the fetch started (<c>keepSetSince</c>) is newer than the answer and never counts as drift,
/// the same rule as the resync's.
/// </summary>
public static class Drift
{
    public static DriftReport Compare(IReadOnlyList<SeenMember> ours, IReadOnlyDictionary<string, JoinedMember> joined, DateTimeOffset keepSetSince)
    {
        var byUser = ours.ToDictionary(m => m.Member.UserId, StringComparer.Ordinal);
        var missing = new List<string>();
        var differs = new List<string>();
        foreach (var (userId, profile) in joined.OrderBy(j => j.Key, StringComparer.Ordinal))
        {
            if (!byUser.TryGetValue(userId, out var seen))
            {
                missing.Add(userId);
            }
            else if (seen.SetAt >= keepSetSince)
            {
                continue;
            }
            else if (seen.Member.Membership != Matrix.Memberships.Join)
            {
                missing.Add(userId);
            }
            else if (seen.Member.DisplayName != profile.DisplayName || seen.Member.AvatarUrl != profile.AvatarUrl)
            {
                differs.Add(userId);
            }
        }

        var extra = ours
            .Where(m => m.Member.Membership == Matrix.Memberships.Join && !joined.ContainsKey(m.Member.UserId) && !(m.SetAt >= keepSetSince))
            .Select(m => m.Member.UserId)
            .Order(StringComparer.Ordinal)
            .ToList();
        return new DriftReport(missing, extra, differs);
    }
}
