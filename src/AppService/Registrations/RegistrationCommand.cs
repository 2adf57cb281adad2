using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace AppService.Registrations;

/// <summary>
/// <c>generate-registration</c>: writes a registration.yaml with fresh tokens for the homeserver and for us.
/// Program.cs dispatches here before the web host is built, so nothing is logged: the tokens go to the file only.
/// </summary>
public static class RegistrationCommand
{
    /// <summary>Length of each generated token, in characters of [A-Za-z0-9] (about 381 bits).</summary>
    public const int TokenLength = 64;

    private const string TokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>Runs the command. Returns the process exit code: 0 written, 1 refused, 2 bad usage.</summary>
    /// <param name="args">The arguments after <c>generate-registration</c>.</param>
    /// <param name="stdout">Where the summary goes (never the tokens).</param>
    /// <param name="stderr">Where errors go.</param>
    /// <param name="currentDirectory">
    /// What a relative <c>--out</c> is resolved against: the current directory (HostPaths), which <c>dotnet run</c>
    /// keeps as the caller's.
    /// </param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, string? currentDirectory = null)
    {
        if (args.Any(a => a is "-h" or "--help"))
        {
            stdout.WriteLine(RegistrationArguments.Usage);
            return 0;
        }

        var parsed = RegistrationArguments.Parse(args);
        if (parsed.Error is { } error)
        {
            return UsageError(stderr, error);
        }

        var request = parsed.Request!;
        string asToken = NewToken();
        string yaml = ToYaml(request, asToken, NewTokenOtherThan(asToken));

        // The same validation the service runs on start, so a file we write always loads.
        try
        {
            _ = RegistrationLoader.Parse(yaml, request.OutputPath);
        }
        catch (RegistrationException ex)
        {
            return UsageError(stderr, ex.Message);
        }

        string fullPath = Path.GetFullPath(request.OutputPath, currentDirectory ?? Environment.CurrentDirectory);
        if (File.Exists(fullPath) && IsPlaceholderRegistration(fullPath))
        {
            // The repository's example registration is tracked by git: real tokens written over it would be committed.
            stderr.WriteLine($"generate-registration: {fullPath} is an example registration with placeholder tokens (tracked by git); "
                + "write yours to another path, e.g. --out registration.local.yaml (git-ignored), or a path outside the checkout.");
            return 1;
        }

        if (File.Exists(fullPath) && !request.Force)
        {
            stderr.WriteLine($"generate-registration: {fullPath} already exists; pass --force to replace it (the homeserver must then be given the new file).");
            return 1;
        }

        try
        {
            WriteOwnerOnly(fullPath, yaml);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"generate-registration: cannot write {fullPath}: {ex.Message}");
            return 1;
        }

        stdout.WriteLine($"Wrote {fullPath} (id '{request.Id}', {request.UserRegexes.Count} exclusive users namespace(s)).");
        stdout.WriteLine("Next:");
        stdout.WriteLine($"  1. Give this file to the homeserver and restart it:");
        stdout.WriteLine($"       Synapse:  app_service_config_files: [\"{fullPath}\"]");
        stdout.WriteLine($"       Dendrite: app_service_api: {{ config_files: [\"{fullPath}\"] }}");
        stdout.WriteLine($"  2. Point the service at it: AppService__RegistrationFile={fullPath}");
        stdout.WriteLine("  3. Keep it secret: it holds the as_token and hs_token (mode 0600; let the homeserver's user read it).");
        return 0;
    }

    private static bool IsPlaceholderRegistration(string path)
    {
        try
        {
            return File.ReadLines(path).Any(line =>
                (line.StartsWith("as_token:", StringComparison.Ordinal) || line.StartsWith("hs_token:", StringComparison.Ordinal))
                && RegistrationLoader.IsPlaceholderToken(line));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>A token of <see cref="TokenLength"/> characters drawn from a CSPRNG; URL- and YAML-safe.</summary>
    public static string NewToken() => RandomNumberGenerator.GetString(TokenAlphabet, TokenLength);

    private static string NewTokenOtherThan(string other)
    {
        string token;
        do
        {
            token = NewToken();
        }
        while (string.Equals(token, other, StringComparison.Ordinal));

        return token;
    }

    internal static string ToYaml(RegistrationArguments.Request request, string asToken, string hsToken)
    {
        var yaml = new StringBuilder();
        yaml.AppendLine("# Application service registration, written by generate-registration.");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"# Generated {DateTimeOffset.UtcNow:yyyy-MM-dd'T'HH:mm:ss'Z'}. Keep it secret: the tokens below authenticate");
        yaml.AppendLine("# the homeserver to the service (hs_token) and the service to the homeserver (as_token).");
        yaml.AppendLine("# Give the same file to the homeserver (Synapse: app_service_config_files;");
        yaml.AppendLine("# Dendrite: app_service_api.config_files) and to the service (AppService:RegistrationFile).");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"id: {Quote(request.Id)}");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"url: {(request.Url is null ? "null" : Quote(request.Url))}");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"as_token: {Quote(asToken)}");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"hs_token: {Quote(hsToken)}");
        yaml.AppendLine(CultureInfo.InvariantCulture, $"sender_localpart: {Quote(request.SenderLocalpart)}");
        yaml.AppendLine("rate_limited: false");
        yaml.AppendLine("receive_ephemeral: true");
        yaml.AppendLine("de.sorunome.msc2409.push_ephemeral: true");
        yaml.AppendLine("namespaces:");
        yaml.AppendLine("  users:");
        foreach (string regex in request.UserRegexes)
        {
            yaml.AppendLine("    - exclusive: true");
            yaml.AppendLine(CultureInfo.InvariantCulture, $"      regex: {Quote(regex)}");
        }

        yaml.AppendLine("  aliases: []");
        yaml.AppendLine("  rooms: []");
        return yaml.ToString();
    }

    /// <summary>A YAML single-quoted scalar: no escapes are interpreted, a quote is doubled.</summary>
    private static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static void WriteOwnerOnly(string path, string content)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
        {
            writer.Write(content);
        }

        // UnixCreateMode applies only to new files; a file replaced with --force keeps its old mode otherwise.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    private static int UsageError(TextWriter stderr, string message)
    {
        stderr.WriteLine($"generate-registration: {message}");
        stderr.WriteLine("Run 'generate-registration --help' for the arguments.");
        return 2;
    }
}
