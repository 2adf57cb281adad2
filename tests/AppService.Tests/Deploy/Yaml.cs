using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace AppService.Tests.Deploy;

/// <summary>Small helpers to walk YAML files of the repository with YamlDotNet's representation model.</summary>
internal static partial class Yaml
{
    public static YamlMappingNode Load(params string[] pathFromRoot)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(RepoRoot.ReadAllText(pathFromRoot)));
        return Assert.IsType<YamlMappingNode>(Assert.Single(stream.Documents).RootNode);
    }

    public static YamlNode? Get(this YamlNode node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    public static YamlMappingNode Map(this YamlNode node, string key) =>
        Assert.IsType<YamlMappingNode>(node.Get(key) ?? throw new Xunit.Sdk.XunitException($"'{key}' is missing"));

    public static string Str(this YamlNode node, string key) =>
        Assert.IsType<YamlScalarNode>(node.Get(key) ?? throw new Xunit.Sdk.XunitException($"'{key}' is missing")).Value!;

    public static IReadOnlyList<string> List(this YamlNode node, string key) => node.Get(key) switch
    {
        null => [],
        YamlSequenceNode seq => [.. seq.Children.Select(c => Assert.IsType<YamlScalarNode>(c).Value!)],
        var other => throw new Xunit.Sdk.XunitException($"'{key}' is not a list: {other}"),
    };

    /// <summary>Compose interpolation with the defaults only: <c>${NAME:-default}</c> → <c>default</c>.</summary>
    public static string WithComposeDefaults(string value) =>
        ComposeVariable().Replace(value, m => m.Groups["default"].Value);

    [GeneratedRegex(@"\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?<default>[^}]*))?\}")]
    private static partial Regex ComposeVariable();
}
