using Gatehouse.Configuration;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Pipeline;

/// <summary>The content's orchestration as the gate sees it; a small seam over Durable for the gate's tests.</summary>
public interface IScanScheduler
{
    /// <summary>Whether the content's orchestration is running or waiting to run.</summary>
    Task<bool> IsRunningAsync(string sha256, CancellationToken cancellationToken);

    /// <summary>Starts the content's orchestration; an instance that another caller started first counts as started.</summary>
    Task StartAsync(ScanRequest request, CancellationToken cancellationToken);

    /// <summary>Waits until the content's orchestration ends; its outcome, or null when it ended without one (failed, terminated).</summary>
    Task<ScanOutcome?> WaitForCompletionAsync(string sha256, CancellationToken cancellationToken);
}

/// <summary>
/// Starts a content's one scan unless it is running or about to run. Whoever starts it holds the content's claim
/// (<see cref="IScanClaims"/>), so a download and a prefetch (which cannot see Durable's instances from its activities)
/// never both start it. A claim whose holder never started the scan is taken over after <see cref="StartGrace"/>.
/// </summary>
public sealed class ScanStarter(IScanClaims claims, IOptions<GatehouseOptions> options, ILogger<ScanStarter> log)
{
    /// <summary>How long a claim without a running scan is left to its holder before a request starts the scan itself.</summary>
    public static readonly TimeSpan StartGrace = TimeSpan.FromSeconds(60);

    /// <summary>The owner a request's claim is recorded under.</summary>
    public const string RequestOwner = "request";

    /// <summary>How long a claim holds: the longest a scan, fetch included, may take.</summary>
    public TimeSpan ClaimLifetime { get; } = TimeSpan.FromMinutes(options.Value.Scan.ClaimMinutes);

    public async Task EnsureStartedAsync(ScanRequest request, IScanScheduler scheduler, CancellationToken cancellationToken)
    {
        var sha256 = request.Sha256;
        if (await scheduler.IsRunningAsync(sha256, cancellationToken))
        {
            return;
        }
        if (!await claims.TryClaimAsync(sha256, RequestOwner, ClaimLifetime, cancellationToken))
        {
            if (await claims.AgeAsync(sha256, cancellationToken) is { } age && age < StartGrace)
            {
                // A prefetch claimed it moments ago and is starting it: wait for that scan.
                return;
            }
            log.LogWarning("The claim on the scan of {Sha256} was never followed by a scan; starting it", sha256);
            await claims.TakeAsync(sha256, RequestOwner, cancellationToken);
        }
        await scheduler.StartAsync(request, cancellationToken);
    }
}

/// <summary><see cref="IScanScheduler"/> on Durable: the instance id is the sha256.</summary>
public sealed class DurableScanScheduler(DurableTaskClient durable, ILogger log) : IScanScheduler
{
    /// <summary>The orchestration instance id for a content: its lower-case hex sha256.</summary>
    public static string InstanceId(string sha256) => sha256;

    public async Task<bool> IsRunningAsync(string sha256, CancellationToken cancellationToken) =>
        await durable.GetInstanceAsync(InstanceId(sha256), getInputsAndOutputs: false, cancellationToken)
            is { RuntimeStatus: OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending };

    public async Task StartAsync(ScanRequest request, CancellationToken cancellationToken)
    {
        var id = InstanceId(request.Sha256);
        try
        {
            await durable.ScheduleNewOrchestrationInstanceAsync(request.Orchestrator, request, new StartOrchestrationOptions(id), cancellationToken);
            log.LogInformation("Scan started for {Sha256} ({Subject}, {FileName}) by {Source}", request.Sha256, request.Requester.Subject, request.Requester.FileName, request.Source);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Another instance of the app started it first; that is the same scan.
            var again = await durable.GetInstanceAsync(id, getInputsAndOutputs: false, cancellationToken);
            if (again is null)
            {
                throw;
            }
            log.LogInformation("Scan for {Sha256} already exists ({Status})", request.Sha256, again.RuntimeStatus);
        }
    }

    public async Task<ScanOutcome?> WaitForCompletionAsync(string sha256, CancellationToken cancellationToken)
    {
        var done = await durable.WaitForInstanceCompletionAsync(InstanceId(sha256), getInputsAndOutputs: true, cancellationToken);
        return done.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? done.ReadOutputAs<ScanOutcome>() : null;
    }
}
