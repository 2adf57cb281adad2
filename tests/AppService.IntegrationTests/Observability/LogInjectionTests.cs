using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Observability;

/// <summary>Every log record the service writes, as a logger provider sees it: event id, formatted message, state values.</summary>
public sealed class RecordedLogs : ILoggerProvider
{
    public sealed record Entry(EventId EventId, string Message, IReadOnlyList<KeyValuePair<string, object?>> State);

    private readonly ConcurrentQueue<Entry> _entries = new();

    public IReadOnlyCollection<Entry> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(_entries);

    public void Dispose()
    {
    }

    private sealed class Logger(ConcurrentQueue<Entry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new Entry(eventId, formatter(state, exception), state as IReadOnlyList<KeyValuePair<string, object?>> ?? []));
    }
}

/// <summary>The service with a logger provider of this test's own.</summary>
public sealed class LogRecordingApplication : AppServiceApplication
{
    public RecordedLogs Records { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureLogging(logging => logging.AddProvider(Records));
    }
}

/// <summary>
/// Issue 16 point 7c: a value from the homeserver that goes into a log message (a rejection reason quoting a
/// membership value, an event id, a transaction id) is written single-line, so it cannot forge a log line in a
/// formatter that writes messages as they are.
/// </summary>
public sealed class LogInjectionTests(LogRecordingApplication app) : IClassFixture<LogRecordingApplication>
{
    private const string Forged = "\nWarning: AppService.Transactions.TransactionProcessor[1004]\r\n      Transaction forged: all good";

    [Fact]
    public async Task A_rejected_event_whose_membership_id_and_transaction_hold_line_breaks_is_logged_as_one_line()
    {
        string room = NewRoomId();
        var bad = Member(room, Bob, "join" + Forged);
        string eventId = "$evil" + Forged;
        bad["event_id"] = eventId;
        string txnId = "txn" + Forged;

        using var response = await app.PushAsync(txnId, bad, Member(room, Carol, "join"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        RecordedLogs.Entry[] rejected;
        while ((rejected = app.Records.Entries.Where(e => e.EventId.Id == 1002).ToArray()).Length == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "no 'event rejected' log record (event id 1002) within 30 s");
            await Task.Delay(50);
        }

        var entry = Assert.Single(rejected);
        Assert.DoesNotContain('\n', entry.Message);
        Assert.DoesNotContain('\r', entry.Message);
        Assert.Contains(@"unknown membership 'join\nWarning: AppService.Transactions.TransactionProcessor[1004]", entry.Message, StringComparison.Ordinal);
        Assert.Contains(@"$evil\nWarning:", entry.Message, StringComparison.Ordinal);
        Assert.Contains(@"txn\nWarning:", entry.Message, StringComparison.Ordinal);
        Assert.All(entry.State, kv => Assert.DoesNotContain('\n', kv.Value?.ToString() ?? ""));
        Assert.DoesNotContain(app.Records.Entries, e => e.Message.Contains('\n', StringComparison.Ordinal) && e.Message.Contains("forged", StringComparison.Ordinal));
    }
}
