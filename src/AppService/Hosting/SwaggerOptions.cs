namespace AppService.Hosting;

/// <summary>
/// The <c>AppService:Swagger</c> section. Swagger UI and the OpenAPI document need no token (the calls they make
/// do), but they describe the admin API to anyone who can reach the port: on by default in Development only.
/// </summary>
public sealed class SwaggerOptions
{
    public const string SectionName = "AppService:Swagger";

    /// <summary>Serve <c>/swagger</c> and <c>/swagger/v1/swagger.json</c>. Unset: true in Development, false elsewhere.</summary>
    public bool? Enabled { get; set; }

    public static bool IsEnabled(IConfiguration configuration, IHostEnvironment environment) =>
        configuration.GetSection(SectionName).Get<SwaggerOptions>()?.Enabled ?? environment.IsDevelopment();
}
