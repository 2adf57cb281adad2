using System.Reflection;
using System.Text.RegularExpressions;
using AppService.Hosting;
using AppService.Tests.Deploy;

namespace AppService.Tests.Docs;

/// <summary>The configuration table of docs/configuration.md and the options classes name the same keys.</summary>
public sealed partial class ConfigurationDocsTests
{
    private static readonly Type[] OptionsClasses =
    [
        typeof(AppServiceOptions), typeof(JobOptions), typeof(DriftCheckOptions), typeof(HomeserverClientOptions),
        typeof(RetentionOptions), typeof(SwaggerOptions), typeof(AutoJoinOptions),
    ];

    /// <summary>Every key the options classes bind: section name + property (nested sections have classes of their own).</summary>
    private static IEnumerable<string> BoundKeys() => OptionsClasses.SelectMany(type =>
    {
        string section = (string)type.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
        return type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite)
            // The old boolean AppService:AutoJoin is the section's own value, filled in by hand, not a key of it.
            .Where(p => !(type == typeof(AutoJoinOptions) && p.Name == nameof(AutoJoinOptions.Legacy)))
            .Select(p => $"{section}:{p.Name}");
    });

    /// <summary>
    /// The keys of docs/configuration.md's table of settings: the first cell's backticked names. The first is a full key;
    /// the ones after it (<c>`AppService:Jobs:RetryBaseDelay` / `MaxRetryDelay`</c>) are short names in its section.
    /// </summary>
    private static HashSet<string> DocumentedKeys()
    {
        string page = RepoRoot.ReadAllText("docs", "configuration.md");
        string section = page[page.IndexOf("\n## Settings", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 1, StringComparison.Ordinal)];
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (string line in section.Split('\n').Where(l => l.StartsWith("| `", StringComparison.Ordinal)))
        {
            string firstCell = line.Split('|')[1];
            var names = Backticked().Matches(firstCell).Select(m => m.Groups[1].Value).ToList();
            string prefix = names[0][..names[0].LastIndexOf(':')];
            keys.Add(names[0]);
            keys.UnionWith(names.Skip(1).Select(n => n.Contains(':', StringComparison.Ordinal) ? n : $"{prefix}:{n}"));
        }

        return keys;
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Backticked();

    [Fact]
    public void Every_configuration_key_of_the_options_classes_is_in_the_configuration_page()
    {
        var documented = DocumentedKeys();

        Assert.DoesNotContain(BoundKeys(), k => !documented.Contains(k));
    }

    [Fact]
    public void Every_key_in_the_configuration_page_is_one_the_service_reads()
    {
        var known = BoundKeys().Append("ConnectionStrings:AppService").ToHashSet(StringComparer.Ordinal);

        Assert.DoesNotContain(DocumentedKeys(), k => !known.Contains(k));
    }
}
