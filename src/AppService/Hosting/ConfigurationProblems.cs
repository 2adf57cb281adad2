using System.Text.RegularExpressions;
using AppService.Registrations;
using Microsoft.Extensions.Options;

namespace AppService.Hosting;

/// <summary>
/// Every configuration problem found at start, listed at once, one line each naming the key and what to do: a
/// newcomer who has set nothing meets them all in one start instead of one per restart. Each options class is
/// validated on its own (a failure in one does not hide the others), the registration file is read even when the
/// options around it are wrong, and .NET's "DataAnnotation validation failed for ..." wrapping is unwrapped.
/// </summary>
public static partial class ConfigurationProblems
{
    [GeneratedRegex(@"^Failed to convert configuration value .* at '(?<key>[^']+)' to type '(?:System\.)?(?<type>[^']+)'")]
    private static partial Regex BindingFailure();

    [GeneratedRegex(@"^DataAnnotation validation failed for '[^']*' members: '(?<members>[^']*)' with the error: '(?<error>.*)'\.$", RegexOptions.Singleline)]
    private static partial Regex DataAnnotationFailure();

    /// <summary>The problems, one line each; empty when the service can start.</summary>
    public static IReadOnlyList<string> Find(IServiceProvider services)
    {
        var problems = new List<string>();
        Check<AppServiceOptions>(services, AppServiceOptions.SectionName, problems);
        Check<JobOptions>(services, JobOptions.SectionName, problems);
        Check<AutoJoinOptions>(services, AutoJoinOptions.SectionName, problems);
        Check<DriftCheckOptions>(services, DriftCheckOptions.SectionName, problems);
        Check<HomeserverClientOptions>(services, HomeserverClientOptions.SectionName, problems);
        Check<RetentionOptions>(services, RetentionOptions.SectionName, problems);

        var configuration = services.GetRequiredService<IConfiguration>();
        try
        {
            // From the configuration itself: the options class may have failed on another key.
            _ = AppServiceSetup.LoadRegistration(
                configuration[$"{AppServiceOptions.SectionName}:{nameof(AppServiceOptions.RegistrationFile)}"] ?? new AppServiceOptions().RegistrationFile,
                services.GetRequiredService<IHostEnvironment>());
        }
        catch (RegistrationException ex)
        {
            problems.Add($"AppService:RegistrationFile: {ex.Message}");
        }

        if (string.IsNullOrWhiteSpace(configuration.GetConnectionString("AppService")))
        {
            problems.Add("ConnectionStrings:AppService is not set: an Npgsql connection string, e.g. "
                + "ConnectionStrings__AppService='Host=localhost;Username=appservice;Password=...;Database=appservice'");
        }
        else
        {
            try
            {
                using var dataSource = AppServiceSetup.CreateDataSource(configuration.GetConnectionString("AppService")!);
            }
            catch (ArgumentException ex)
            {
                problems.Add($"ConnectionStrings:AppService is not a valid Npgsql connection string: {ex.Message}");
            }
        }

        return problems;
    }

    private static void Check<TOptions>(IServiceProvider services, string section, List<string> problems)
        where TOptions : class
    {
        try
        {
            _ = services.GetRequiredService<IOptions<TOptions>>().Value;
        }
        catch (OptionsValidationException ex)
        {
            problems.AddRange(ex.Failures.Select(f => Line(section, f)));
        }
        catch (InvalidOperationException ex)
        {
            // Binding: "Failed to convert configuration value 'abc' at 'AppService:Jobs:Concurrency' to type 'System.Int32'."
            // (The value is not repeated: a misplaced secret could be in it.) The class's other keys are checked once it binds.
            var match = BindingFailure().Match(ex.Message);
            problems.Add(match.Success
                ? $"{match.Groups["key"].Value} cannot be read as {Article(match.Groups["type"].Value)} (environment: {match.Groups["key"].Value.Replace(":", "__", StringComparison.Ordinal)})"
                : ex.Message);
        }
    }

    private static string Article(string type) => type switch
    {
        "Int32" or "Int64" => "an integer",
        "Double" => "a number",
        "Boolean" => "true or false",
        "TimeSpan" => "a duration (hh:mm:ss or d.hh:mm:ss)",
        "Uri" => "a URL",
        _ => type,
    };

    /// <summary>One failure as "Section:Member what is wrong (environment: Section__Member)".</summary>
    internal static string Line(string section, string failure)
    {
        var match = DataAnnotationFailure().Match(failure);
        if (!match.Success)
        {
            return failure;
        }

        string member = match.Groups["members"].Value.Split(',')[0].Trim();
        string key = $"{section}:{member}";
        string error = match.Groups["error"].Value.Trim();
        foreach (string prefix in new[] { $"{key}:", key, $"The field {member}", $"The {member} field", member })
        {
            if (error.StartsWith(prefix, StringComparison.Ordinal))
            {
                error = error[prefix.Length..].Trim();
                break;
            }
        }

        string environment = key.Replace(":", "__", StringComparison.Ordinal);
        return error.Contains(environment, StringComparison.Ordinal)
            ? $"{key} {error}"
            : $"{key} {error.TrimEnd('.')} (environment: {environment})";
    }
}
