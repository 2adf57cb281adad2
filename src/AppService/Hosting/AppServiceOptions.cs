using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace AppService.Hosting;

/// <summary>The <c>AppService</c> configuration section. Names are a public contract (docs/configuration.md).</summary>
public sealed class AppServiceOptions
{
    public const string SectionName = "AppService";

    /// <summary>Path of the registration YAML: the only source of tokens, sender_localpart and namespaces.</summary>
    [Required]
    public string RegistrationFile { get; set; } = "registration.yaml";

    /// <summary>
    /// Base URL of the homeserver's client-server API, e.g. http://localhost:8008. Optional: without it the ingest
    /// works as usual and homeserver jobs (join, resync, drift checks) wait in the jobs table.
    /// </summary>
    public Uri? HomeserverUrl { get; set; }

    /// <summary>
    /// The homeserver's server name; the bot is <c>@{sender_localpart}:{ServerName}</c>. Required outside
    /// Development (<see cref="ServerNameValidation"/>): a wrong one silently makes the bot never recognise itself.
    /// </summary>
    [RegularExpression(@"^[A-Za-z0-9.\-:\[\]]+$", ErrorMessage = "ServerName must be a Matrix server name such as example.org or localhost:8448.")]
    public string? ServerName { get; set; }

    /// <summary>The server name Development falls back to when none is configured.</summary>
    public const string DevelopmentServerName = "localhost";

    /// <summary>Bearer token for /admin. Required.</summary>
    [Required(ErrorMessage = "AppService:AdminToken is required: the admin API is never served without a token.")]
    [MinLength(16, ErrorMessage = "AppService:AdminToken must be at least 16 characters.")]
    public string AdminToken { get; set; } = "";

    /// <summary>Apply EF Core migrations when the service starts.</summary>
    public bool MigrateOnStartup { get; set; } = true;

    /// <summary>Largest transaction body accepted, in bytes (413 M_TOO_LARGE above it).</summary>
    [Range(1024 * 1024, 1024L * 1024 * 1024)]
    public long MaxTransactionBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>Largest single event accepted, in bytes of JSON excluding <c>unsigned</c> (spec: 65536).</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxEventBytes { get; set; } = 65536;
}

/// <summary>The <c>AppService:Jobs</c> section: the durable queue of homeserver work and its worker.</summary>
public sealed class JobOptions
{
    public const string SectionName = "AppService:Jobs";

    /// <summary>How long an idle worker waits before looking for due jobs (it is also woken by the ingest).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Jobs run at once by one worker (one replica).</summary>
    [Range(1, 64)]
    public int Concurrency { get; set; } = 4;

    /// <summary>The first retry delay; it doubles per attempt, with jitter, up to <see cref="MaxRetryDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a claimed job is reserved for its worker; a job whose worker died is retried after it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Attempts after which a job that keeps failing with a permanent error (a 4xx other than 429, e.g. M_FORBIDDEN, or
    /// a failure of ours on what the homeserver sent) is given up and marked failed. Waiting on the homeserver or the
    /// database (unreachable, 5xx, 429, timeouts, database away) retries forever.
    /// </summary>
    [Range(1, 1000)]
    public int MaxAttempts { get; set; } = 10;

    /// <summary>
    /// Resyncs running at once across all replicas (each fetches a whole room's /members and /state); other jobs
    /// are not held up by the cap. Bounds what an invite flood can make the homeserver do.
    /// </summary>
    [Range(1, 64)]
    public int MaxConcurrentResyncs { get; set; } = 2;

    /// <summary>Finished jobs (done, skipped, given up) are deleted after this long, by the retention job (Maintenance/Pruner).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>The <c>AppService:DriftCheck</c> section: the periodic sampled comparison with <c>/joined_members</c>.</summary>
public sealed class DriftCheckOptions
{
    public const string SectionName = "AppService:DriftCheck";

    public bool Enabled { get; set; } = true;

    /// <summary>Time between two samples.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "7.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Joined rooms checked per sample: those synced or checked longest ago.</summary>
    [Range(1, 10000)]
    public int SampleSize { get; set; } = 10;
}

/// <summary>The <c>AppService:HomeserverClient</c> section: timeouts and in-call retries of client-server API calls.</summary>
public sealed class HomeserverClientOptions : IValidatableObject
{
    public const string SectionName = "AppService:HomeserverClient";

    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The whole call, retries included; must exceed <see cref="AttemptTimeout"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.200", "00:30:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>In-call retries of idempotent calls (GET, PUT); POST (join) is retried by the job's own backoff.</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 3;

    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest 429 wait (retry_after_ms / Retry-After) honoured inside a call; a longer one ends the call and
    /// the job waits that long instead, holding no connection.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan MaxInlineRetryAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Open the circuit for this long after at least half of 5+ calls failed within the sampling window.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(15);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (TotalTimeout <= AttemptTimeout)
        {
            yield return new ValidationResult(
                "AppService:HomeserverClient:TotalTimeout must be longer than AttemptTimeout.", [nameof(TotalTimeout), nameof(AttemptTimeout)]);
        }
    }
}

/// <summary>
/// <c>AppService:ServerName</c> has no silent default: outside Development it must be set, or start fails with one
/// line. (In Development it falls back to <c>localhost</c>, the shipped dev stack's name.)
/// </summary>
public sealed class ServerNameValidation(IHostEnvironment environment) : IValidateOptions<AppServiceOptions>
{
    public ValidateOptionsResult Validate(string? name, AppServiceOptions options) =>
        string.IsNullOrWhiteSpace(options.ServerName) && !environment.IsDevelopment()
            ? ValidateOptionsResult.Fail(
                "AppService:ServerName is required outside Development (env AppService__ServerName): the homeserver's server_name, "
                + "the part after ':' in its user ids (e.g. example.org); the bot is @{sender_localpart}:{ServerName}.")
            : ValidateOptionsResult.Success;
}

/// <summary>
/// The <c>AppService:AutoJoin</c> section: whether and for whom the bot joins rooms it is invited to. The old
/// boolean form (<c>AppService:AutoJoin=true|false</c>) is still read (<see cref="Legacy"/>).
/// </summary>
public sealed class AutoJoinOptions : IValidatableObject
{
    public const string SectionName = "AppService:AutoJoin";

    /// <summary>Join rooms the bot is invited to; null: the old boolean <c>AppService:AutoJoin</c> decides (default true).</summary>
    public bool? Enabled { get; set; }

    /// <summary>
    /// The value of <c>AppService:AutoJoin</c> itself (the old boolean form), read from the configuration directly:
    /// the section and the boolean share one key, which no options class can bind as both.
    /// </summary>
    public string? Legacy { get; set; }

    /// <summary>
    /// Regular expressions, each matched against the inviter's whole user id; an invite from anyone else is refused
    /// (logged and counted, the bot stays invited). Empty (the default): anyone on the bot's own server.
    /// </summary>
    public List<string> AllowedInviters { get; set; } = [];

    /// <summary>The policy these options make: Enabled, else the old boolean form, else true.</summary>
    public Projections.InvitePolicy Policy(string botUserId) =>
        new(Enabled ?? (!bool.TryParse(Legacy, out bool legacy) || legacy), AllowedInviters, botUserId);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrEmpty(Legacy) && !bool.TryParse(Legacy, out _))
        {
            yield return new ValidationResult(
                $"AppService:AutoJoin must be true or false (or a section with Enabled and AllowedInviters), got '{Legacy}'.", [nameof(Legacy)]);
        }

        foreach (string pattern in AllowedInviters)
        {
            string? error = null;
            try
            {
                _ = new System.Text.RegularExpressions.Regex(pattern, System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException ex)
            {
                error = ex.Message;
            }

            if (error is not null)
            {
                yield return new ValidationResult($"AppService:AutoJoin:AllowedInviters: '{pattern}' is not a valid regular expression: {error}", [nameof(AllowedInviters)]);
            }
        }
    }
}
