using System.Collections.Concurrent;

namespace AppService.IntegrationTests.Infrastructure;

/// <summary>
/// Every log line the application under test writes, at every level, for assertions on what is (not) logged.
/// Its provider alias "Captured" lets a test set provider-level rules (<c>Logging:Captured:LogLevel:Default</c>), as an
/// operator does with <c>Logging__Console__LogLevel__Default</c>.
/// </summary>
[ProviderAlias("Captured")]
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
