using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace AppService.Data;

/// <summary>
/// The one way into a database transaction for the service's hand-written SQL (the ingest, the resync's write, job
/// completion): EF Core owns the connection and the transaction (so the execution strategy, the admin reads and the
/// migrations see one unit of work), and this hands the SQL its <see cref="NpgsqlConnection"/> and
/// <see cref="NpgsqlTransaction"/> as batches. Begin it inside <c>CreateExecutionStrategy().ExecuteAsync</c>, so a
/// transient failure re-runs the whole transaction.
/// <para>
/// It also keeps the connection rule (<see cref="ConnectionHygiene"/>): when it is disposed without a commit or a
/// rollback (an exception left the transaction open), the physical connection is not pooled again.
/// </para>
/// </summary>
public sealed class SqlTransaction : IAsyncDisposable
{
    private readonly AppDbContext _db;
    private readonly IDbContextTransaction _transaction;
    private readonly ConnectionHygiene _hygiene;
    private readonly string _operation;
    private bool _committed;

    private SqlTransaction(AppDbContext db, IDbContextTransaction transaction, ConnectionHygiene hygiene, string operation)
    {
        _db = db;
        _transaction = transaction;
        _hygiene = hygiene;
        _operation = operation;
        Connection = (NpgsqlConnection)db.Database.GetDbConnection();
        Transaction = (NpgsqlTransaction)transaction.GetDbTransaction();
    }

    public NpgsqlConnection Connection { get; }

    public NpgsqlTransaction Transaction { get; }

    /// <param name="operation">Names the caller in the log line of a discarded connection ("ingest", "resync", "job").</param>
    public static async Task<SqlTransaction> BeginAsync(AppDbContext db, ConnectionHygiene hygiene, string operation, CancellationToken ct) =>
        new(db, await db.Database.BeginTransactionAsync(ct), hygiene, operation);

    /// <summary>A batch in this transaction, for commands that return no rows (or whose rows nobody reads).</summary>
    public NpgsqlBatch Batch() => new(Connection, Transaction);

    /// <summary>A batch in this transaction whose every command is added with the reader of its own rows.</summary>
    public QueryBatch QueryBatch() => new(Batch());

    public NpgsqlCommand Command(string sql) => new(sql, Connection, Transaction);

    public Task CommitAsync(CancellationToken ct) => _transaction.CommitAsync(ct);

    public Task RollbackAsync(CancellationToken ct) => _transaction.RollbackAsync(ct);

    /// <summary>
    /// Runs the batch with <c>COMMIT</c> as its last statement: the writes and the commit in one round trip instead of
    /// two. If any statement fails, PostgreSQL skips the rest of the batch (the COMMIT too) and the exception leaves the
    /// transaction open, to be rolled back on dispose like any other failure. Once COMMIT has run, Npgsql sees the
    /// connection idle, so disposing the EF transaction rolls nothing back. Nothing may use this transaction (or EF on
    /// this DbContext) after it: EF still holds its transaction object until dispose, but the database has ended it.
    /// </summary>
    public async Task ExecuteAndCommitAsync(NpgsqlBatch batch, CancellationToken ct)
    {
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        await batch.PrepareAsync(ct);
        await batch.ExecuteNonQueryAsync(ct);
        _committed = true;
    }

    public async ValueTask DisposeAsync()
    {
        // EF clears CurrentTransaction on a successful commit or rollback; an exception leaves it in place.
        if (!_committed && _db.Database.CurrentTransaction == _transaction)
        {
            _hygiene.Discard(Connection, _operation);
        }

        await _transaction.DisposeAsync();
    }
}

/// <summary>
/// A batch whose result sets are read by the readers their commands were added with, in order: adding or removing
/// a statement can never shift the rows another reader sees. Every command must return a result set (a SELECT, or a
/// write with RETURNING): Npgsql skips statements that return none, so one would hand its reader the next one's rows. Prepared explicitly (a no-op after the first time on a
/// connection): see <see cref="ConnectionHygiene"/> for why the service never auto-prepares.
/// </summary>
public sealed class QueryBatch(NpgsqlBatch batch) : IAsyncDisposable
{
    private readonly List<Action<NpgsqlDataReader>> _rowReaders = [];

    /// <param name="readRow">Called once for each row of this command's result, on the current row.</param>
    public void Add(NpgsqlBatchCommand command, Action<NpgsqlDataReader> readRow)
    {
        batch.BatchCommands.Add(command);
        _rowReaders.Add(readRow);
    }

    public async Task ExecuteAsync(CancellationToken ct)
    {
        await batch.PrepareAsync(ct);
        await using var reader = await batch.ExecuteReaderAsync(ct);
        for (int i = 0; i < _rowReaders.Count; i++)
        {
            if (i > 0 && !await reader.NextResultAsync(ct))
            {
                throw new InvalidOperationException($"The batch returned {i} result sets for {_rowReaders.Count} commands.");
            }

            while (await reader.ReadAsync(ct))
            {
                _rowReaders[i](reader);
            }
        }
    }

    public ValueTask DisposeAsync() => batch.DisposeAsync();
}
