using Npgsql;

namespace AppService.Data;

/// <summary>
/// Connections for the safety net's txnId lock, held across a salvage's groups (see
/// <see cref="Transactions.TransactionProcessor"/>). Outside the service's pool on purpose: the groups run on pooled
/// connections while this one is held, so with a pool of one (or a busy pool) a pooled lock connection would wait for
/// the groups it is holding the lock for. A salvage is rare; opening one connection for it costs a backend start.
/// </summary>
public sealed class SalvageLockSource(string connectionString) : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource = new NpgsqlDataSourceBuilder(
        new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString).Build();

    public ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken ct) => _dataSource.OpenConnectionAsync(ct);

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
