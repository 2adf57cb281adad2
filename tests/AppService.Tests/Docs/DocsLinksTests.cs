using System.Text;
using System.Text.RegularExpressions;
using AppService.Tests.Deploy;

namespace AppService.Tests.Docs;

/// <summary>
/// The README is short, and nothing in it or in the docs points outside the repository: a user's clone has only what
/// is in it (no ../shared beside it), so every relative link must resolve to a file (and heading) of the checkout.
/// </summary>
public sealed partial class DocsLinksTests
{
    private static readonly string Root = Path.GetFullPath(RepoRoot.File("."));

    /// <summary>Every tracked Markdown page: the README, docs/, bench/, tools/ and tests/ (not build output).</summary>
    public static TheoryData<string> Pages()
    {
        var data = new TheoryData<string>();
        foreach (string path in Directory.EnumerateFiles(Root, "*.md", SearchOption.AllDirectories)
                     .Select(p => Path.GetRelativePath(Root, p).Replace('\\', '/'))
                     .Where(p => !p.Split('/').Any(part => part is "bin" or "obj" or ".data" or ".git" or "bench-results" or "sim-results" or "TestResults"))
                     .Order(StringComparer.Ordinal))
        {
            data.Add(path);
        }

        return data;
    }

    [GeneratedRegex(@"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"^#{1,6}\s+(.*)$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    private static IEnumerable<string> Links(string markdown) =>
        MarkdownLink().Matches(CodeBlock().Replace(markdown, "")).Select(m => m.Groups[1].Value);

    /// <summary>GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.</summary>
    private static string Anchor(string heading)
    {
        var anchor = new StringBuilder();
        foreach (char c in heading.Trim().ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(c) || c is '-' or '_')
            {
                anchor.Append(c);
            }
            else if (c == ' ')
            {
                anchor.Append('-');
            }
        }

        return anchor.ToString();
    }

    private static bool IsWebLink(string target) =>
        target.StartsWith("http://", StringComparison.Ordinal) || target.StartsWith("https://", StringComparison.Ordinal)
        || target.StartsWith("mailto:", StringComparison.Ordinal);

    [Fact]
    public void The_README_is_under_12_KB()
    {
        long bytes = new FileInfo(RepoRoot.File("README.md")).Length;

        Assert.True(bytes < 12 * 1024, $"README.md is {bytes} bytes; move reference material into docs/ pages");
    }

    [Fact]
    public void Every_link_in_the_README_is_a_file_of_the_repository()
    {
        var links = Links(RepoRoot.ReadAllText("README.md")).ToList();

        Assert.Contains("docs/configuration.md", links);
        Assert.Contains("docs/api.md", links);
        Assert.Contains("docs/state-rules.md", links);
        Assert.DoesNotContain(links, IsWebLink);
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void Every_relative_link_resolves_to_a_file_and_heading_inside_the_repository(string page)
    {
        string directory = Path.GetDirectoryName(Path.Combine(Root, page))!;
        var broken = new List<string>();
        foreach (string link in Links(File.ReadAllText(Path.Combine(Root, page))).Where(l => !IsWebLink(l)))
        {
            string[] parts = link.Split('#', 2);
            string target = parts[0].Length == 0 ? Path.Combine(Root, page) : Path.GetFullPath(Path.Combine(directory, Uri.UnescapeDataString(parts[0])));
            if (!target.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                broken.Add($"{link} (outside the repository)");
            }
            else if (!File.Exists(target) && !Directory.Exists(target))
            {
                broken.Add($"{link} (no such file)");
            }
            else if (parts.Length == 2 && target.EndsWith(".md", StringComparison.Ordinal)
                     && !Heading().Matches(File.ReadAllText(target)).Any(h => Anchor(h.Groups[1].Value) == parts[1]))
            {
                broken.Add($"{link} (no such heading)");
            }
        }

        Assert.True(broken.Count == 0, $"{page}: {string.Join(", ", broken)}");
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void No_page_names_a_path_beside_the_checkout(string page)
    {
        string text = File.ReadAllText(Path.Combine(Root, page));

        Assert.DoesNotContain("../shared", text, StringComparison.Ordinal);
        Assert.DoesNotContain("/work/shared", text, StringComparison.Ordinal);
    }
}
