namespace AppService.Projections;

/// <summary>Kinds of homeserver work a projection change can call for; run later by the job worker, never inline.</summary>
public static class JobKinds
{
    /// <summary>The bot was invited: join the room (AppService:AutoJoin).</summary>
    public const string Join = "join";

    /// <summary>Replace the room's projection with the homeserver's <c>/members</c> and <c>/state</c>.</summary>
    public const string Resync = "resync";

    /// <summary>Compare our joined members with the homeserver's <c>/joined_members</c>; resync on a difference.</summary>
    public const string DriftCheck = "drift_check";
}

/// <summary>Why a job was queued; stored with the job, shown by the admin API and in logs.</summary>
public static class JobReasons
{
    public const string Invite = "invite";
    public const string BotJoined = "bot_joined";
    public const string ReplacesState = "replaces_state";
    public const string Drift = "drift";
    public const string Admin = "admin";
    public const string Sample = "sample";

    /// <summary>A redaction of current state we could not decide (power levels or the target's sender unknown).</summary>
    public const string RedactionUndecided = "redaction_undecided";
}

/// <summary>
/// One unit of homeserver work. At most one job per <see cref="DedupKey"/> is pending at a time; asking again while
/// one is pending is a no-op, and asking while it runs makes it run once more (see the jobs SQL).
/// </summary>
public sealed record JobRequest(string Kind, string RoomId, string Reason)
{
    public string DedupKey => DedupKeyOf(Kind, RoomId);

    public static string DedupKeyOf(string kind, string roomId) => $"{kind}:{roomId}";
}
