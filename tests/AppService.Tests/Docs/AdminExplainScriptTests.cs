using System.Text.RegularExpressions;
using AppService.Admin;
using AppService.Tests.Deploy;

namespace AppService.Tests.Docs;

public sealed partial class AdminExplainScriptTests
{
    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    private static string Statement(string route)
    {
        string file = RepoRoot.ReadAllText("scripts", "admin-explain.sql");
        string rest = file[(file.IndexOf($"-- route: {route}\n", StringComparison.Ordinal) + route.Length + 11)..];
        int next = rest.IndexOf("-- route:", StringComparison.Ordinal);
        return Whitespace().Replace(next < 0 ? rest : rest[..next], " ").Trim();
    }

    [Fact]
    public void The_stats_statements_the_script_explains_are_the_ones_the_service_runs()
    {
        Assert.Equal(Whitespace().Replace(StatsSql.Text(exact: false), " ").Trim(), Statement("GET /stats"));
        Assert.Equal(Whitespace().Replace(StatsSql.Text(exact: true), " ").Trim(), Statement("GET /stats?exact=true [counts every row on request, no target]"));
    }
}
