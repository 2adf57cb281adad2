using System.Data.Common;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace AppService.Data;

/// <summary>
/// What a failure says about the database, in one place for every caller: the ingest endpoint and its safety net, the
/// job worker, the migrator, the admin API's exception handler and the database-error metric.
/// </summary>
public static class DatabaseFailures
{
    /// <summary>
    /// The database away, not the work wrong: unreachable, restarting, contended or out of resources. The ingest
    /// answers 503 for these (the homeserver retries) and its safety net never quarantines an event because of one.
    /// </summary>
    public static bool IsTransient(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case RetryLimitExceededException:
                case TimeoutException:
                case System.Net.Sockets.SocketException:
                case NpgsqlException { IsTransient: true }:
                case NpgsqlException and not PostgresException:
                case PostgresException pg when IsEnvironmental(pg.SqlState):
                    return true;
            }
        }

        return false;
    }

    /// <summary>
    /// PostgreSQL errors that say something about the server, not about the events: they must never get an event
    /// quarantined by the safety net (a retry later succeeds). 57014 statement_timeout / cancel (e.g. waiting on a room
    /// lock a long resync holds), 25006 read-only transaction (a failover in progress), and the classes 08 connection,
    /// 53 insufficient resources, 55 object not in prerequisite state (lock not available), 57 operator intervention,
    /// 58 system error. Npgsql's own IsTransient leaves 57014 and 25006 out.
    /// </summary>
    public static bool IsEnvironmental(string sqlState) =>
        sqlState is PostgresErrorCodes.QueryCanceled or PostgresErrorCodes.ReadOnlySqlTransaction
        || sqlState.StartsWith("08", StringComparison.Ordinal) || sqlState.StartsWith("53", StringComparison.Ordinal)
        || sqlState.StartsWith("55", StringComparison.Ordinal) || sqlState.StartsWith("57", StringComparison.Ordinal)
        || sqlState.StartsWith("58", StringComparison.Ordinal);

    /// <summary>
    /// Any failure that came from the database or the driver, transient or not: counted as a database error, and
    /// answered 503 by the admin API (<c>ApiExceptionHandler</c>).
    /// </summary>
    public static bool IsDatabaseError(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is DbException or NpgsqlException or TimeoutException or RetryLimitExceededException)
            {
                return true;
            }
        }

        return false;
    }
}
