using AppService.Data;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AppService.IntegrationTests.Infrastructure;

/// <summary>
/// A database of its own for a test that needs no running service (a plan, a migration): created empty on the shared
/// server, dropped when disposed, as <see cref="AppServiceApplication"/> does with its own.
/// </summary>
public sealed class ScratchDatabase : IAsyncDisposable
{
    private readonly PostgresServer _postgres;
    private readonly string _name;

    private ScratchDatabase(PostgresServer postgres, string name, string connectionString)
    {
        _postgres = postgres;
        _name = name;
        ConnectionString = connectionString;
    }

    public string ConnectionString { get; }

    /// <param name="prefix">The start of the database's name (the rest is random).</param>
    /// <param name="configure">Changes to the connection string, e.g. a Command Timeout.</param>
    public static async Task<ScratchDatabase> CreateAsync(string prefix, Action<NpgsqlConnectionStringBuilder>? configure = null)
    {
        var postgres = await PostgresServer.GetAsync();
        string name = prefix + "_" + Guid.NewGuid().ToString("N")[..12];
        var builder = new NpgsqlConnectionStringBuilder(await postgres.CreateDatabaseAsync(name));
        configure?.Invoke(builder);
        return new ScratchDatabase(postgres, name, builder.ConnectionString);
    }

    /// <summary>A context on this database (its owner disposes it).</summary>
    public AppDbContext Context() => new(new DbContextOptionsBuilder<AppDbContext>().UseNpgsql(ConnectionString).Options);

    public async ValueTask DisposeAsync() => await _postgres.DropDatabaseAsync(_name);
}
