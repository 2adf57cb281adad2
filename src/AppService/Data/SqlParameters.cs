using Npgsql;
using NpgsqlTypes;

namespace AppService.Data;

/// <summary>
/// Typed parameters for the hand-written SQL (<see cref="IngestSql"/>, <see cref="JobSql"/>, <see cref="ResyncSql"/>):
/// every parameter names its PostgreSQL type, so a statement's parameter types never depend on the values (a null, an
/// empty array), and its prepared form is reused.
/// </summary>
public static class SqlParameters
{
    public static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    public static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    public static NpgsqlParameter TextArray(IReadOnlyList<string?> values) =>
        new() { Value = values as string?[] ?? values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };

    public static NpgsqlParameter BigintArray(long[] values) =>
        new() { Value = values, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint };

    public static NpgsqlParameter Bytes(byte[] value) => new() { Value = value, NpgsqlDbType = NpgsqlDbType.Bytea };

    public static NpgsqlParameter Int(int value) => new() { Value = value, NpgsqlDbType = NpgsqlDbType.Integer };

    public static NpgsqlParameter Timestamp(DateTimeOffset value) => new() { Value = value.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz };

    public static NpgsqlParameter TimestampArray(IEnumerable<DateTimeOffset> values) =>
        new() { Value = values.Select(v => v.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz };

    public static NpgsqlParameter NullableTimestampArray(IEnumerable<DateTimeOffset?> values) =>
        new() { Value = values.Select(v => v?.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz };

    public static NpgsqlParameter BoolArray(IEnumerable<bool> values) =>
        new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Boolean };

    public static NpgsqlParameter Bool(bool value) => new() { Value = value, NpgsqlDbType = NpgsqlDbType.Boolean };

    public static NpgsqlParameter Bigint(long value) => new() { Value = value, NpgsqlDbType = NpgsqlDbType.Bigint };
}
