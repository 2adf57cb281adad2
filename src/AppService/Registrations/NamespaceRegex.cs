using System.Text.RegularExpressions;

namespace AppService.Registrations;

/// <summary>
/// Rules for namespace regexes in a registration. The same pattern is compiled by Synapse (Python <c>re</c>,
/// <c>re.match</c>: anchored at the start only), Dendrite (Go RE2, <c>MatchString</c>: not anchored at all) and by us
/// (.NET). A pattern is accepted only if it compiles here and uses nothing outside the syntax the three share.
/// </summary>
public static class NamespaceRegex
{
    /// <summary>Returns null when <paramref name="pattern"/> is usable, else one sentence saying what is wrong.</summary>
    public static string? Problem(string pattern)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException ex)
        {
            return $"is not a valid regular expression: {ex.Message}";
        }

        return PortabilityProblem(pattern);
    }

    /// <summary>
    /// Null when the pattern starts with <c>^</c> and ends with an unescaped <c>$</c>. Synapse anchors only the start
    /// and Dendrite anchors nothing, so an unanchored pattern claims more users than it looks like it does.
    /// </summary>
    public static string? AnchoringProblem(string pattern)
    {
        var leadingFlags = Regex.Match(pattern, @"\A\(\?[ims]+\)", RegexOptions.None, TimeSpan.FromSeconds(1));
        if (!pattern.AsSpan(leadingFlags.Length).StartsWith("^", StringComparison.Ordinal))
        {
            return "must start with '^' (Dendrite matches anywhere in the id)";
        }

        int trailingBackslashes = 0;
        for (int i = pattern.Length - 2; i >= 0 && pattern[i] == '\\'; i--)
        {
            trailingBackslashes++;
        }

        return pattern.Length >= 2 && pattern.EndsWith('$') && trailingBackslashes % 2 == 0
            ? null
            : "must end with '$' (Synapse and Dendrite otherwise accept anything after it)";
    }

    private static string? PortabilityProblem(string p)
    {
        bool inClass = false;
        for (int i = 0; i < p.Length; i++)
        {
            char c = p[i];
            if (c == '\\')
            {
                if (i + 1 >= p.Length)
                {
                    return "ends with a lone backslash";
                }

                char e = p[i + 1];
                if (e is >= '1' and <= '9' && !inClass)
                {
                    return $"uses a backreference '\\{e}', which Go RE2 (Dendrite) does not support";
                }

                string? escapeProblem = e switch
                {
                    'k' => "uses a named backreference '\\k', which Go RE2 (Dendrite) and Python do not share",
                    'p' or 'P' => $"uses a Unicode class '\\{e}', which Python re (Synapse) does not support",
                    'Z' or 'z' => $"uses '\\{e}', which means different things in Python and RE2; end the pattern with '$'",
                    'G' => "uses '\\G', which neither Python re nor RE2 supports",
                    'R' or 'X' or 'K' => $"uses '\\{e}', which Python re and RE2 do not support",
                    _ => null,
                };
                if (escapeProblem is not null)
                {
                    return escapeProblem;
                }

                i++;
                continue;
            }

            if (inClass)
            {
                if (c == ']')
                {
                    inClass = false;
                }
                else if (c == '-' && i + 1 < p.Length && p[i + 1] == '[')
                {
                    return "uses .NET character-class subtraction '-[...]', which Python and RE2 read differently";
                }
                else if (c == '[' && i + 1 < p.Length && p[i + 1] == ':')
                {
                    return "uses a POSIX class '[:name:]', which Python re (Synapse) does not support";
                }

                continue;
            }

            switch (c)
            {
                case '[':
                    inClass = true;
                    // A ']' right after '[' or '[^' is a literal member of the class.
                    if (i + 1 < p.Length && p[i + 1] == '^')
                    {
                        i++;
                    }

                    if (i + 1 < p.Length && p[i + 1] == ']')
                    {
                        i++;
                    }

                    break;
                case '(' when i + 1 < p.Length && p[i + 1] == '?':
                    if (GroupProblem(p, i) is { } groupProblem)
                    {
                        return groupProblem;
                    }

                    break;
                case '*' or '+' or '?' or '}' when i + 1 < p.Length && p[i + 1] == '+':
                    return $"uses a possessive quantifier '{c}+', which Go RE2 (Dendrite) does not support";
            }
        }

        return null;
    }

    /// <summary>Checks a <c>(?</c> construct at <paramref name="at"/>: only <c>(?:</c> and inline flags are shared.</summary>
    private static string? GroupProblem(string p, int at)
    {
        string rest = p[(at + 2)..];
        if (rest.StartsWith(':'))
        {
            return null;
        }

        if (rest.StartsWith('=') || rest.StartsWith('!'))
        {
            return "uses a lookahead '(?=' or '(?!', which Go RE2 (Dendrite) does not support";
        }

        if (rest.StartsWith("<=", StringComparison.Ordinal) || rest.StartsWith("<!", StringComparison.Ordinal))
        {
            return "uses a lookbehind '(?<=' or '(?<!', which Go RE2 (Dendrite) does not support";
        }

        if (rest.StartsWith('>'))
        {
            return "uses an atomic group '(?>', which Go RE2 (Dendrite) does not support";
        }

        if (rest.StartsWith('<') || rest.StartsWith('\'') || rest.StartsWith('P'))
        {
            return "uses a named group, whose syntax differs between .NET, Python re and RE2; use '(?:...)' or '(...)'";
        }

        if (rest.StartsWith('('))
        {
            return "uses a conditional '(?(', which Go RE2 (Dendrite) does not support";
        }

        // Inline flags: i, m and s mean the same in all three. '(?flags)' must open the pattern (Python 3.11+);
        // '(?flags:...)' may appear anywhere.
        int n = 0;
        while (n < rest.Length && rest[n] is 'i' or 'm' or 's')
        {
            n++;
        }

        if (n > 0 && n < rest.Length && rest[n] == ':')
        {
            return null;
        }

        if (n > 0 && n < rest.Length && rest[n] == ')')
        {
            return at == 0 ? null : "uses inline flags '(?...)' after the start; Python 3.11+ refuses that, use '(?i:...)'";
        }

        return "uses a '(?' construct other than '(?:', '(?i)', '(?m)' or '(?s)', which is not portable to Python re and RE2";
    }
}
