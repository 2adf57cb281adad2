using AppService.Hosting;
using AppService.IntegrationTests.Infrastructure;
using Npgsql;
using NpgsqlTypes;

namespace AppService.IntegrationTests.Data;

/// <summary>
/// The library behaviour behind "one failing transaction poisons a pooled connection" (issue 8, cause 4), on plain
/// Npgsql, one physical connection (pool of one), a batch of three row-returning statements like the ingest's.
/// Npgsql auto-prepares a statement on its 5th use (AutoPrepareMinUsages) when MaxAutoPrepare &gt; 0. If that very
/// execution fails, the connection's prepared-statement bookkeeping is left wrong in one of two ways:
/// <list type="bullet">
/// <item>the server refuses a parameter at Bind (22021 for U+0000 in text): Npgsql marked the statement prepared on
/// ParseComplete, but its RowDescription only comes after a successful Bind, so the statement is cached as returning
/// no rows. Later its result set is skipped when empty (every later result set shifts by one: a silent misread) and
/// breaks the connection with "unexpected backend message DataRow" when not;</item>
/// <item>a parameter cannot even be encoded (a lone surrogate): statements before it in the batch stay "being
/// prepared" although nothing was sent, and every later use fails with 26000 (prepared statement does not exist).</item>
/// </list>
/// The first two tests pin that behaviour of Npgsql 10.0.3 (if they start failing, Npgsql fixed it: revisit
/// AppServiceSetup.CreateDataSource). The others show that an error raised while executing does not have it, and that
/// the service's data source (no auto-prepare) and explicit preparation, as the ingest does it, do not either.
/// </summary>
public sealed class AutoPrepareProtocolTests : IAsyncLifetime
{
    private const int Runs = 12;
    private readonly string _database = "appservice_test_" + Guid.NewGuid().ToString("N")[..16];
    private PostgresServer? _postgres;
    private string _connectionString = "";

    public async Task InitializeAsync()
    {
        _postgres = await PostgresServer.GetAsync();
        _connectionString = new NpgsqlConnectionStringBuilder(await _postgres.CreateDatabaseAsync(_database)) { MaxPoolSize = 1 }.ConnectionString;
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            CREATE TABLE things (id text PRIMARY KEY, value text NOT NULL);
            INSERT INTO things VALUES ('a', 'A'), ('b', 'B');
            CREATE TABLE writes (id text NOT NULL);
            CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.id = 'boom' THEN RAISE EXCEPTION 'refused'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_boom BEFORE INSERT ON writes FOR EACH ROW EXECUTE FUNCTION refuse_boom();
            """, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DropDatabaseAsync(_database);
        }
    }

    [Fact]
    public async Task Npgsql_caches_a_statement_whose_bind_failed_while_being_auto_prepared_as_returning_no_rows()
    {
        await using var dataSource = AutoPreparing();
        int pid = await WarmUpAsync(dataSource);

        // 5th use: the statements are being prepared; the first one's Bind is refused by the server.
        var failure = await Assert.ThrowsAsync<PostgresException>(() => RunAsync(dataSource, first: "x\0y"));
        Assert.Equal(PostgresErrorCodes.CharacterNotInRepertoire, failure.SqlState);

        // The same physical connection now drops the first statement's result set when it is empty: the caller
        // reads the insert's rows as the first SELECT's, and no error is raised.
        var (misread, samePid) = await RunAsync(dataSource, first: "missing");
        Assert.Equal(pid, samePid);
        Assert.Equal("[w] [B|b]", Show(misread)); // two result sets for three statements

        // ... and breaks the connection when it returns a row.
        var broken = await Assert.ThrowsAnyAsync<Exception>(() => RunAsync(dataSource));
        Assert.Contains("unexpected backend message DataRow", broken.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Npgsql_leaves_earlier_statements_half_prepared_when_a_parameter_cannot_be_encoded()
    {
        await using var dataSource = AutoPreparing();
        int pid = await WarmUpAsync(dataSource);

        // 5th use: the first statement is marked "being prepared", then the second's parameter fails to encode
        // before anything is sent.
        await Assert.ThrowsAsync<System.Text.EncoderFallbackException>(() => RunAsync(dataSource, second: "x\ud800y"));

        for (int i = 0; i < 3; i++)
        {
            var failure = await Assert.ThrowsAsync<PostgresException>(() => RunAsync(dataSource));
            Assert.Equal(PostgresErrorCodes.InvalidSqlStatementName, failure.SqlState); // prepared statement "_auto0" does not exist
        }

        Assert.Equal(pid, (await RunAsync(dataSource, first: "a", useAutoPrepare: false)).Pid);
    }

    [Fact]
    public async Task An_error_raised_while_executing_does_not_poison_the_connection_even_when_auto_preparing()
    {
        await using var dataSource = AutoPreparing();
        int pid = await WarmUpAsync(dataSource);

        // The row description arrives before Execute runs the trigger, so the cached statement is complete.
        await Assert.ThrowsAsync<PostgresException>(() => RunAsync(dataSource, second: "boom"));

        for (int i = 0; i < Runs; i++)
        {
            var (sets, samePid) = await RunAsync(dataSource, first: i % 2 == 0 ? "missing" : "a");
            Assert.Equal(pid, samePid);
            Assert.Equal(Show(Expected(first: i % 2 == 0 ? "missing" : "a")), Show(sets));
        }
    }

    [Theory]
    [InlineData("nul-first", false, 5)] // U+0000 refused by the server at Bind, first statement
    [InlineData("nul-second", false, 5)] // the same, second statement
    [InlineData("surrogate-second", false, 5)] // a lone surrogate refused by Npgsql while encoding, second statement
    [InlineData("nul-first", true, 5)] // the same three, with the statements prepared explicitly as the ingest does
    [InlineData("nul-second", true, 5)]
    [InlineData("surrogate-second", true, 5)]
    [InlineData("nul-second", true, 1)] // ... and failing on the run that prepares them
    [InlineData("surrogate-second", true, 1)]
    public async Task The_service_data_source_reads_every_result_set_correctly_after_a_failed_batch(string poison, bool prepare, int failingRun)
    {
        await using var dataSource = AppServiceSetup.CreateDataSource(_connectionString);
        for (int i = 1; i < failingRun; i++)
        {
            var (sets, _) = await RunAsync(dataSource, prepare: prepare);
            Assert.Equal(Show(Expected()), Show(sets));
        }

        // The pool holds one connection (MaxPoolSize = 1): the backend every run before and after the failure uses.
        int pid;
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            pid = connection.ProcessID;
        }

        var failing = poison switch
        {
            "nul-first" => RunAsync(dataSource, first: "x\0y", prepare: prepare),
            "nul-second" => RunAsync(dataSource, second: "x\0y", prepare: prepare),
            _ => RunAsync(dataSource, second: "x\ud800y", prepare: prepare),
        };
        await Assert.ThrowsAnyAsync<Exception>(() => failing);

        for (int i = 0; i < Runs; i++)
        {
            string key = i % 2 == 0 ? "missing" : "a";
            var (sets, samePid) = await RunAsync(dataSource, first: key, prepare: prepare);
            Assert.Equal(Show(Expected(first: key)), Show(sets));
            Assert.True(pid == samePid, $"the connection was replaced: backend {pid} before the failure, {samePid} after");
        }
    }

    private NpgsqlDataSource AutoPreparing() =>
        NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(_connectionString) { MaxAutoPrepare = 32 }.ConnectionString);

    /// <summary>Four good runs of the batch on the one connection: the next run is the one that auto-prepares.</summary>
    private static async Task<int> WarmUpAsync(NpgsqlDataSource dataSource)
    {
        int pid = 0;
        for (int i = 0; i < 4; i++)
        {
            var (sets, p) = await RunAsync(dataSource);
            Assert.Equal(Show(Expected()), Show(sets));
            pid = p;
        }

        return pid;
    }

    private static List<List<string>> Expected(string first = "a") =>
        [first == "a" ? ["a|A"] : [], ["w"], ["B|b"]];

    /// <summary>
    /// One transaction with one batch: a SELECT keyed by <paramref name="first"/>, an INSERT ... RETURNING of
    /// <paramref name="second"/> through a trigger, a SELECT of 'b'. Returns every result set the reader yields.
    /// </summary>
    private static async Task<(List<List<string>> Sets, int Pid)> RunAsync(
        NpgsqlDataSource dataSource, string first = "a", string second = "w", bool useAutoPrepare = true, bool prepare = false)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        int pid = connection.ProcessID;
        await using var transaction = await connection.BeginTransactionAsync();
        var batch = new NpgsqlBatch(connection, transaction);
        string marker = useAutoPrepare ? "" : " /* other text, not prepared */";
        batch.BatchCommands.Add(Command("SELECT id, value FROM things WHERE id = $1" + marker, first));
        batch.BatchCommands.Add(Command("WITH w AS (INSERT INTO writes VALUES ($1) RETURNING id) SELECT id FROM w" + marker, second));
        batch.BatchCommands.Add(Command("SELECT value, id FROM things WHERE id = $1" + marker, "b"));
        if (prepare)
        {
            await batch.PrepareAsync();
        }

        var sets = new List<List<string>>();
        await using (var reader = await batch.ExecuteReaderAsync())
        {
            do
            {
                var rows = new List<string>();
                while (await reader.ReadAsync())
                {
                    rows.Add(string.Join('|', Enumerable.Range(0, reader.FieldCount).Select(reader.GetString)));
                }

                sets.Add(rows);
            }
            while (await reader.NextResultAsync());
        }

        await transaction.RollbackAsync();
        return (sets, pid);
    }

    private static NpgsqlBatchCommand Command(string sql, string value) =>
        new(sql) { Parameters = { new NpgsqlParameter { Value = value, NpgsqlDbType = NpgsqlDbType.Text } } };

    private static string Show(List<List<string>> sets) => string.Join(" ", sets.Select(s => "[" + string.Join(";", s) + "]"));
}
