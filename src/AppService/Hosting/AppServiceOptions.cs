using System.ComponentModel.DataAnnotations;

namespace AppService.Hosting;

/// <summary>The <c>AppService</c> configuration section. Names are a public contract (README).</summary>
public sealed class AppServiceOptions
{
    public const string SectionName = "AppService";

    /// <summary>Path of the registration YAML: the only source of tokens, sender_localpart and namespaces.</summary>
    [Required]
    public string RegistrationFile { get; set; } = "registration.yaml";

    /// <summary>Base URL of the homeserver's client-server API, e.g. http://localhost:8008.</summary>
    public Uri? HomeserverUrl { get; set; }

    /// <summary>The homeserver's server name; the bot is <c>@{sender_localpart}:{ServerName}</c>.</summary>
    [Required]
    [RegularExpression(@"^[A-Za-z0-9.\-:\[\]]+$", ErrorMessage = "ServerName must be a Matrix server name such as example.org or localhost:8448.")]
    public string ServerName { get; set; } = "localhost";

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
