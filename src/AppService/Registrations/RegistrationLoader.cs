using YamlDotNet.RepresentationModel;

namespace AppService.Registrations;

/// <summary>Reads and validates registration.yaml. Every error is one line that names the field.</summary>
public static class RegistrationLoader
{
    /// <summary>Tokens shipped in the repository's registration.yaml; refused outside Development.</summary>
    public static bool IsPlaceholderToken(string token) =>
        token.Contains("CHANGE_ME", StringComparison.OrdinalIgnoreCase);

    /// <summary>Loads and validates <paramref name="path"/>.</summary>
    /// <param name="path">The registration file.</param>
    /// <param name="allowPlaceholderTokens">True only in the Development environment: accept CHANGE_ME tokens.</param>
    public static Registration LoadFile(string path, bool allowPlaceholderTokens = false)
    {
        if (!File.Exists(path))
        {
            throw new RegistrationException(
                $"registration file '{path}' does not exist (AppService:RegistrationFile; a relative path is taken from the current directory, {Environment.CurrentDirectory})");
        }

        return Parse(File.ReadAllText(path), path, allowPlaceholderTokens);
    }

    /// <summary>Parses and validates a registration; every failure is a <see cref="RegistrationException"/> of one line.</summary>
    public static Registration Parse(string yaml, string source = "registration.yaml", bool allowPlaceholderTokens = false)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlDotNet.Core.YamlException ex)
        {
            throw new RegistrationException($"{source}: not valid YAML at line {ex.Start.Line}: {ex.Message}");
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new RegistrationException($"{source}: expected a YAML mapping with id, url, as_token, hs_token, sender_localpart, namespaces");
        }

        string id = RequiredString(root, "id", source);
        if (id.Contains('|', StringComparison.Ordinal))
        {
            throw new RegistrationException($"{source}: 'id' must not contain '|' (Synapse refuses it)");
        }

        if (!root.Children.TryGetValue(new YamlScalarNode("url"), out var urlNode))
        {
            throw new RegistrationException($"{source}: 'url' is missing (write the URL the homeserver pushes to, or null for no traffic)");
        }

        string? url = urlNode is YamlScalarNode { Value: { } u } && !IsNull(urlNode) ? u : null;
        if (url is not null && !Uri.TryCreate(url, UriKind.Absolute, out _))
        {
            throw new RegistrationException($"{source}: 'url' is not an absolute URL: '{url}'");
        }

        string asToken = RequiredString(root, "as_token", source);
        string hsToken = RequiredString(root, "hs_token", source);
        if (string.Equals(asToken, hsToken, StringComparison.Ordinal))
        {
            throw new RegistrationException($"{source}: 'as_token' and 'hs_token' must differ");
        }

        // Both placeholders in one line: the shipped example has two, and a newcomer should not meet them one per start.
        string[] placeholders = allowPlaceholderTokens
            ? []
            : new[] { ("as_token", asToken), ("hs_token", hsToken) }.Where(t => IsPlaceholderToken(t.Item2)).Select(t => $"'{t.Item1}'").ToArray();
        if (placeholders.Length > 0)
        {
            throw new RegistrationException(
                $"{source}: {string.Join(" and ", placeholders)} {(placeholders.Length == 1 ? "is a placeholder" : "are placeholders")} (CHANGE_ME), "
                + "accepted only in the Development environment; run 'generate-registration' for real tokens");
        }

        string senderLocalpart = RequiredString(root, "sender_localpart", source);
        if (Uri.EscapeDataString(senderLocalpart) != senderLocalpart || senderLocalpart.Contains(':', StringComparison.Ordinal))
        {
            throw new RegistrationException($"{source}: 'sender_localpart' must be a plain user localpart (a-z 0-9 . _ = - /), got '{senderLocalpart}'");
        }

        var namespaces = ParseNamespaces(root, source);
        return new Registration(
            id,
            url,
            asToken,
            hsToken,
            senderLocalpart,
            namespaces,
            RateLimited: OptionalBool(root, "rate_limited", source) ?? true,
            ReceiveEphemeral: OptionalBool(root, "receive_ephemeral", source) ?? false,
            Protocols: ParseProtocols(root, source));
    }

    private static RegistrationNamespaces ParseNamespaces(YamlMappingNode root, string source)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode("namespaces"), out var node) || IsNull(node))
        {
            return new RegistrationNamespaces([], [], []);
        }

        if (node is not YamlMappingNode map)
        {
            throw new RegistrationException($"{source}: 'namespaces' must be a mapping with users, aliases, rooms");
        }

        return new RegistrationNamespaces(List(map, "users"), List(map, "aliases"), List(map, "rooms"));

        List<RegistrationNamespace> List(YamlMappingNode parent, string key)
        {
            if (!parent.Children.TryGetValue(new YamlScalarNode(key), out var listNode) || IsNull(listNode))
            {
                return [];
            }

            if (listNode is not YamlSequenceNode seq)
            {
                throw new RegistrationException($"{source}: 'namespaces.{key}' must be a list of {{regex, exclusive}}");
            }

            var result = new List<RegistrationNamespace>();
            for (int i = 0; i < seq.Children.Count; i++)
            {
                string where = $"namespaces.{key}[{i}]";
                if (seq.Children[i] is not YamlMappingNode entry)
                {
                    throw new RegistrationException($"{source}: '{where}' must be a mapping with regex and exclusive");
                }

                string regex = RequiredString(entry, "regex", source, where + ".");
                if ((NamespaceRegex.Problem(regex) ?? NamespaceRegex.AnchoringProblem(regex)) is { } problem)
                {
                    throw new RegistrationException($"{source}: '{where}.regex' {problem}: '{regex}'");
                }

                bool exclusive = OptionalBool(entry, "exclusive", source, where + ".")
                    ?? throw new RegistrationException($"{source}: '{where}.exclusive' is missing (true or false)");
                result.Add(new RegistrationNamespace(regex, exclusive));
            }

            return result;
        }
    }

    private static List<string> ParseProtocols(YamlMappingNode root, string source)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode("protocols"), out var node) || IsNull(node))
        {
            return [];
        }

        if (node is not YamlSequenceNode seq || seq.Children.Any(c => c is not YamlScalarNode { Value.Length: > 0 }))
        {
            throw new RegistrationException($"{source}: 'protocols' must be a list of protocol names");
        }

        return seq.Children.Select(c => ((YamlScalarNode)c).Value!).ToList();
    }

    private static string RequiredString(YamlMappingNode map, string key, string source, string prefix = "")
    {
        if (!map.Children.TryGetValue(new YamlScalarNode(key), out var node) || IsNull(node))
        {
            throw new RegistrationException($"{source}: '{prefix}{key}' is missing");
        }

        if (node is not YamlScalarNode { Value: { } value } || string.IsNullOrWhiteSpace(value))
        {
            throw new RegistrationException($"{source}: '{prefix}{key}' must be a non-empty string");
        }

        return value;
    }

    private static bool? OptionalBool(YamlMappingNode map, string key, string source, string prefix = "")
    {
        if (!map.Children.TryGetValue(new YamlScalarNode(key), out var node) || IsNull(node))
        {
            return null;
        }

        return node is YamlScalarNode { Value: { } v } && bool.TryParse(v, out bool b)
            ? b
            : throw new RegistrationException($"{source}: '{prefix}{key}' must be true or false");
    }

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode s && s.Style == YamlDotNet.Core.ScalarStyle.Plain
            && (s.Value is null || s.Value is "" or "~" or "null" or "Null" or "NULL");
}

public sealed class RegistrationException(string message) : Exception(message);
