using AppService.Observability;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace AppService.Data;

/// <summary>
/// A physical connection on which a batch failed never serves another request: its protocol state is not trusted.
/// Npgsql 10.0.3 can leave a connection misreading result sets after a batch fails (a statement auto-prepared on the
/// failing run is cached without its row description, or stays "being prepared"; see
/// tests/.../Data/AutoPrepareProtocolTests). The service turns auto-prepare off (AppServiceSetup.CreateDataSource) and
/// prepares the ingest statements explicitly, which removes the known cause; this is the guarantee for unknown ones,
/// and for a deployment that sets <c>Max Auto Prepare</c> itself.
/// <para>
/// Used through <see cref="SqlTransaction"/>, the one way into a transaction for hand-written SQL. When it is disposed
/// and the transaction was neither committed nor rolled back through EF (an exception left it open), the data source is cleared while
/// the failed connection is still rented: Npgsql closes it when EF hands it back instead of pooling it, and closes
/// the idle ones now. Npgsql has no public way to drop one connection (<c>NpgsqlConnection.ClearPool</c> does
/// nothing for a data source's connections; terminating our own backend makes Npgsql clear the pool anyway), so a
/// failure costs reopening the pool's connections once (about 8 ms of PostgreSQL CPU each, measured); a transaction
/// that commits costs nothing.
/// </para>
/// </summary>
public sealed partial class ConnectionHygiene(NpgsqlDataSource dataSource, ILogger<ConnectionHygiene> logger)
{
    internal void Discard(NpgsqlConnection connection, string operation)
    {
        if (connection.State != System.Data.ConnectionState.Open)
        {
            // Broken by Npgsql already (I/O error, protocol violation): a broken connection is never pooled.
            return;
        }

        int processId = connection.ProcessID;
        dataSource.Clear();
        DiscardedConnection(logger, operation, processId);
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Warning,
        Message = "A database batch failed inside {Operation}: its connection (backend {ProcessId}) is closed instead of returning to the pool, and the pool is refreshed")]
    private static partial void DiscardedConnection(ILogger logger, LogText operation, int processId);
}
