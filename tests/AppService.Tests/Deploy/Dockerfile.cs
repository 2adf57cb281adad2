namespace AppService.Tests.Deploy;

/// <summary>deploy/Dockerfile read as instructions (continuation lines joined, comments dropped).</summary>
internal static class Dockerfile
{
    public static readonly IReadOnlyList<(string Op, string Args)> Instructions = Read();

    /// <summary>Instructions of the last stage, the image that runs.</summary>
    public static IReadOnlyList<(string Op, string Args)> RuntimeStage =>
        [.. Instructions.Skip(Instructions.Select((ins, i) => (ins, i)).Last(x => x.ins.Op == "FROM").i)];

    /// <summary>The value of an ENV key of the runtime stage.</summary>
    public static string Env(string key)
    {
        foreach (var (_, args) in RuntimeStage.Where(i => i.Op == "ENV"))
        {
            foreach (string pair in args.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (pair.StartsWith(key + "=", StringComparison.Ordinal))
                {
                    return pair[(key.Length + 1)..];
                }
            }
        }

        throw new Xunit.Sdk.XunitException($"ENV {key} is not set in the runtime stage");
    }

    private static List<(string, string)> Read()
    {
        var result = new List<(string, string)>();
        string pending = "";
        foreach (string raw in RepoRoot.ReadAllText("deploy", "Dockerfile").ReplaceLineEndings("\n").Split('\n'))
        {
            string line = raw.Trim();
            if (line.StartsWith('#') || (line.Length == 0 && pending.Length == 0))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending += line[..^1].Trim() + " ";
                continue;
            }

            string full = (pending + line).Trim();
            pending = "";
            if (full.Length == 0)
            {
                continue;
            }

            int space = full.IndexOf(' ', StringComparison.Ordinal);
            result.Add((full[..space].ToUpperInvariant(), full[(space + 1)..].Trim()));
        }

        return result;
    }
}
