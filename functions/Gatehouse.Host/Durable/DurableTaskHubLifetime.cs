using System.Diagnostics;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.DurableTask.Worker.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Host.Durable;

/// <summary>
/// Start-up and shutdown order of the durable backend inside the web host.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Start: creates the task hub (tables, queues, lease containers) before the worker starts. Registered before
/// the worker, and hosted services start in registration order.</item>
/// <item>Stopping: stops the worker first. Its work-item stream is an open gRPC request on the sidecar, and Kestrel,
/// which a <c>WebApplication</c> stops before any other hosted service, would otherwise wait for that request until
/// the host's shutdown timeout runs out. Then it starts stopping the orchestration service, so its partition leases
/// are released while Kestrel drains the requests still in flight (which can take the whole shutdown timeout).</item>
/// <item>Stop (last, hosted services stop in reverse order): waits for that stop, so the leases are released before
/// the process exits and the next process takes over at once instead of waiting for them to expire. The stop goes
/// through <see cref="SubOrchestrationFixProxy"/>, which shares one forced stop with the sidecar's own stop hook (that
/// one runs on <c>ApplicationStopping</c> and is not awaited by the host).</item>
/// </list>
/// </remarks>
internal sealed class DurableTaskHubLifetime(
    AzureStorageOrchestrationService service,
    IOrchestrationService sidecarService,
    DurableBackendOptions options,
    IServiceProvider services,
    ILogger<DurableTaskHubLifetime> logger) : IHostedLifecycleService
{
    private long _stopStarted;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await service.CreateIfNotExistsAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var endpoint = DurableBackendExtensions.DescribeStorage(options.StorageConnectionString);
            DurableLog.TaskHubFailed(logger, e, options.HubName, endpoint);
            throw new InvalidOperationException(
                $"Could not create or open durable task hub '{options.HubName}' in storage {endpoint}. Is the storage emulator running?", e);
        }

        DurableLog.TaskHubReady(logger, options.HubName, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Hosted services are singletons that already exist; resolving them here creates nothing new.
            var stops = services.GetServices<IHostedService>()
                .OfType<DurableTaskWorker>()
                .Select(worker => worker.StopAsync(cancellationToken))
                .ToArray();
            await Task.WhenAll(stops).ConfigureAwait(false);
        }
        finally
        {
            // Not awaited here: StopAsync awaits this same shared stop once Kestrel has drained.
            _stopStarted = Stopwatch.GetTimestamp();
            _ = sidecarService.StopAsync(isForced: true);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var started = _stopStarted != 0 ? _stopStarted : Stopwatch.GetTimestamp();
        try
        {
            await sidecarService.StopAsync(isForced: true).WaitAsync(cancellationToken).ConfigureAwait(false);
            DurableLog.Stopped(logger, options.HubName, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception e)
        {
            DurableLog.StopFailed(logger, e, options.HubName);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
