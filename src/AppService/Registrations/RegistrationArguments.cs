namespace AppService.Registrations;

/// <summary>The command line of <c>generate-registration</c>: its usage text, and the arguments checked into a request.</summary>
internal static class RegistrationArguments
{
    public const string Usage = """
        Usage: generate-registration --id <id> --url <url|null> --sender-localpart <localpart>
                                     --namespace-regex <regex> [--namespace-regex <regex> ...]
                                     [--out registration.local.yaml] [--force]

          --id               unique id of this application service on the homeserver, e.g. projections
          --url              URL the homeserver pushes transactions to, e.g. http://appservice:9000; 'null' for none
          --sender-localpart localpart of the bot user, e.g. bot (becomes @bot:<server name>)
          --namespace-regex  exclusive users namespace, anchored and naming the server: '^@_bot_.*:example\.org$'
          --out              file to write (default registration.local.yaml, git-ignored), relative to the current directory;
                             never overwritten without --force, never over an example with CHANGE_ME tokens
          --force            overwrite --out if it exists

        The file holds the as_token and hs_token: it is created readable by its owner only.
        """;

    /// <summary>Where the registration goes without <c>--out</c>: git-ignored, and never the tracked example beside it.</summary>
    public const string DefaultOutput = "registration.local.yaml";

    internal sealed record Request(string Id, string? Url, string SenderLocalpart, IReadOnlyList<string> UserRegexes, string OutputPath, bool Force);

    internal sealed record Parsed(Request? Request, string? Error);

    public static Parsed Parse(string[] args)
    {
        string? id = null, url = null, localpart = null, output = null;
        bool urlGiven = false, force = false;
        var regexes = new List<string>();

        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string name = arg;
            string? inlineValue = null;
            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                name = arg[..eq];
                inlineValue = arg[(eq + 1)..];
            }

            if (name == "--force")
            {
                force = true;
                continue;
            }

            if (name is not ("--id" or "--url" or "--sender-localpart" or "--namespace-regex" or "--out"))
            {
                return new Parsed(null, $"unknown argument '{arg}'");
            }

            string? value = inlineValue;
            if (value is null)
            {
                if (i + 1 >= args.Length)
                {
                    return new Parsed(null, $"'{name}' needs a value");
                }

                value = args[++i];
            }

            switch (name)
            {
                case "--id": id = value; break;
                case "--url": url = value; urlGiven = true; break;
                case "--sender-localpart": localpart = value; break;
                case "--namespace-regex": regexes.Add(value); break;
                case "--out": output = value; break;
            }
        }

        string? missing = id is null ? "--id"
            : !urlGiven ? "--url"
            : localpart is null ? "--sender-localpart"
            : regexes.Count == 0 ? "--namespace-regex"
            : null;
        if (missing is not null)
        {
            return new Parsed(null, $"'{missing}' is required");
        }

        if (string.IsNullOrWhiteSpace(output))
        {
            output = DefaultOutput;
        }

        string? resolvedUrl = url is "null" or "" ? null : url;
        if (resolvedUrl is not null
            && (!Uri.TryCreate(resolvedUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            return new Parsed(null, $"'--url' must be an absolute http(s) URL or 'null', got '{url}'");
        }

        for (int i = 0; i < regexes.Count; i++)
        {
            if ((NamespaceRegex.Problem(regexes[i]) ?? NamespaceRegex.AnchoringProblem(regexes[i])) is { } problem)
            {
                return new Parsed(null, $"'--namespace-regex' '{regexes[i]}' {problem}");
            }
        }

        return new Parsed(new Request(id!, resolvedUrl, localpart!, regexes, output, force), null);
    }
}
