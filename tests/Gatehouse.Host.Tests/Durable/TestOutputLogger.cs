using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Gatehouse.Host.Tests.Durable;

/// <summary>Sends the app's logs to the test's output, so a failing test shows what the host did.</summary>
internal sealed class TestOutputLoggerProvider(ITestOutputHelper output) : ILoggerProvider
{
    readonly long started = Stopwatch.GetTimestamp();
    volatile bool disposed;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() => disposed = true;

    void Write(string line)
    {
        if (disposed)
        {
            return;
        }

        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test already finished; background logging after that is dropped.
        }
    }

    sealed class Logger(TestOutputLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            double seconds = Stopwatch.GetElapsedTime(provider.started).TotalSeconds;
            string line = $"[{seconds,7:F3}s {logLevel,-11} {category}] {formatter(state, exception)}";
            if (exception is not null)
            {
                line += Environment.NewLine + exception;
            }

            provider.Write(line);
        }
    }
}
