using System.Diagnostics;
using System.Reflection;
using Gatehouse.Functions.Http;
using Microsoft.Extensions.Hosting;

namespace Gatehouse.Functions.Tests;

/// <summary>
/// Runs the Functions app's real <c>Program</c> until its host is built, and stops it there: the worker cannot be
/// started without the Functions host, but everything it will report to the host is decided by then.
/// </summary>
/// <remarks>
/// Same technique as ASP.NET Core's <c>HostFactoryResolver</c>: listen for the "HostBuilt" event of
/// <c>Microsoft.Extensions.Hosting</c> and throw out of the entry point. The worker finds its generated start-up code
/// (which is where the Durable extension registers itself) through <see cref="Assembly.GetEntryAssembly"/>, so the
/// Functions assembly is made the entry assembly while <c>Program</c> runs.
/// </remarks>
internal static class FunctionsWorkerHost
{
    private const string HostingListenerName = "Microsoft.Extensions.Hosting";

    public static IHost Build()
    {
        var functionsAssembly = typeof(AdminFunctions).Assembly;
        var entryPoint = functionsAssembly.EntryPoint
            ?? throw new InvalidOperationException($"{functionsAssembly.GetName().Name} has no entry point.");

        using var capture = new HostCapture();
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            var previousEntryAssembly = Assembly.GetEntryAssembly();
            capture.ThreadId = Environment.CurrentManagedThreadId;
            using var subscription = DiagnosticListener.AllListeners.Subscribe(capture);
            Assembly.SetEntryAssembly(functionsAssembly);
            try
            {
                entryPoint.Invoke(null, [Array.Empty<string>()]);
            }
            catch (TargetInvocationException e) when (e.InnerException is HostCapture.Stop)
            {
                // Expected: Program was stopped right after builder.Build().
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                Assembly.SetEntryAssembly(previousEntryAssembly);
            }
        });
        thread.Start();
        thread.Join();

        return capture.Host ?? throw new InvalidOperationException("Program ended without building a host.", failure);
    }

    private sealed class HostCapture : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>, IDisposable
    {
        private readonly List<IDisposable> _subscriptions = [];

        public int ThreadId { get; set; }

        public IHost? Host { get; private set; }

        public void OnNext(DiagnosticListener listener)
        {
            if (listener.Name == HostingListenerName)
            {
                lock (_subscriptions)
                {
                    _subscriptions.Add(listener.Subscribe(this));
                }
            }
        }

        public void OnNext(KeyValuePair<string, object?> hostingEvent)
        {
            // Other tests may build hosts on other threads at the same time; only Program's is ours.
            if (Environment.CurrentManagedThreadId == ThreadId && hostingEvent is { Key: "HostBuilt", Value: IHost host })
            {
                Host = host;
                throw new Stop();
            }
        }

        public void Dispose()
        {
            lock (_subscriptions)
            {
                _subscriptions.ForEach(s => s.Dispose());
            }
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }

        public sealed class Stop : Exception;
    }
}
