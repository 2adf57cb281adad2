namespace AppService.Hosting;

/// <summary>
/// The one rule for paths (docs/configuration.md): relative paths in configuration and on the command line
/// (<c>AppService:RegistrationFile</c>, <c>generate-registration --out</c>) are resolved against the current
/// directory, the one the service is started from (<c>dotnet run</c> keeps the caller's: RunWorkingDirectory in
/// the project file). appsettings*.json are read from the application's own directory (the content root), next to
/// AppService.dll, wherever it is started from, unless a content root is given explicitly.
/// </summary>
public static class HostPaths
{
    public static WebApplicationOptions Options(string[] args) => new()
    {
        Args = args,
        ContentRootPath = ContentRootGiven(args) ? null : AppContext.BaseDirectory,
    };

    /// <summary>The absolute path of a configured path: relative ones are taken from the current directory.</summary>
    public static string Resolve(string path) => Path.GetFullPath(path, Environment.CurrentDirectory);

    private static bool ContentRootGiven(string[] args) =>
        args.Any(a => a.TrimStart('-', '/').StartsWith("contentRoot", StringComparison.OrdinalIgnoreCase))
        || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ASPNETCORE_CONTENTROOT"))
        || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOTNET_CONTENTROOT"));
}
