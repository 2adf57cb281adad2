using System.Reflection;
using AppService.Data;
using Microsoft.EntityFrameworkCore.Migrations;

namespace AppService.Tests.Deploy;

/// <summary>
/// deploy/migrations.sql is what operators with <c>AppService:MigrateOnStartup=false</c> apply (docs/operations.md):
/// a migration missing from it leaves /health/ready answering 503 for good after an upgrade. Regenerate it with
/// scripts/migrations-sql.sh whenever a migration is added.
/// </summary>
public sealed class MigrationsScriptTests
{
    [Fact]
    public void The_operators_migration_script_applies_every_migration_of_the_service()
    {
        string script = File.ReadAllText(RepoRoot.File("deploy", "migrations.sql"));
        var ids = typeof(AppDbContext).Assembly.GetTypes()
            .Select(t => t.GetCustomAttribute<MigrationAttribute>()?.Id)
            .OfType<string>()
            .ToList();

        Assert.NotEmpty(ids);
        var missing = ids.Where(id => !script.Contains($"'{id}'", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, $"deploy/migrations.sql lacks {string.Join(", ", missing)}: run scripts/migrations-sql.sh");
    }
}
