using Gatehouse.Configuration;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Gatehouse.Telemetry;

namespace Gatehouse.Pipeline;

/// <summary>
/// Where every request for a file meets the pipeline. A content with current facts is decided at once for the asking
/// reference. Otherwise its orchestration is started (one per content, across instances: it fetches, scans and
/// records the facts) and the request waits for the facts at most as long as it was given, fetch included; after
/// that it is told to come back, as it is at once when the host begins to stop (the scan it waits for may not finish
/// in this process). Nothing is served without facts and a decision.
/// </summary>
public sealed class ArtifactGate(IFactsStore facts, ReferenceDecisions decisions, ScanStarter starter, ScanSignals signals, ContentPlacement placement,
    TimeProvider time, IHostApplicationLifetime lifetime, IOptions<GatehouseOptions> options, ILogger<ArtifactGate> log, RemoteRegistry remotes)
{
    private readonly ScanOptions _options = options.Value.Scan;
    private readonly SingleFlight<string, bool> _starts = new();

    /// <summary>How long a request that cannot be asked to come back in slices waits for a cold file.</summary>
    public TimeSpan InlineWait => TimeSpan.FromSeconds(_options.InlineWaitSeconds);

    /// <summary>The gate with Durable as the scheduler (what both hosts use).</summary>
    public Task<GateResult> GetAsync(ArtifactReference reference, TimeSpan wait, ScanSource source, DurableTaskClient durable, CancellationToken requestAborted,
        RequestFacts? request = null) =>
        GetAsync(reference, wait, source, new DurableScanScheduler(durable, log), requestAborted, request);

    /// <summary>
    /// The decision for <paramref name="reference"/>, waiting at most <paramref name="wait"/> for a content without facts
    /// (a wait of zero starts the fetch and scan and returns at once). The reference must be recorded already;
    /// <paramref name="request"/> is what the request itself says of it.
    /// </summary>
    public async Task<GateResult> GetAsync(ArtifactReference reference, TimeSpan wait, ScanSource source, IScanScheduler scheduler, CancellationToken requestAborted,
        RequestFacts? request = null)
    {
        var sha256 = reference.Sha256;
        var remote = new KeyValuePair<string, object?>("remote", reference.Remote.Name);
        using var span = GatehouseTelemetry.Source.StartActivity("gate");
        span?.SetTag("gatehouse.sha256", sha256);
        span?.SetTag("gatehouse.file", reference.FileName);
        if (await facts.GetAsync(sha256, requestAborted) is { IsCurrent: true } known)
        {
            GatehouseTelemetry.CacheLookups.Add(1, new KeyValuePair<string, object?>("result", "hit"), remote);
            return await DecidedAsync(known, reference, request, requestAborted);
        }
        GatehouseTelemetry.CacheLookups.Add(1, new KeyValuePair<string, object?>("result", "miss"), remote);
        // What the remote's facts refuse (a vulnerable release, a denied licence, a young file) is refused before any byte is fetched.
        var onMetadata = await decisions.DecideOnMetadataAsync(reference, requestAborted, request);
        if (!onMetadata.IsAllowed)
        {
            return GateResult.RefusedBeforeFetch(onMetadata);
        }
        using var subscription = signals.Subscribe(sha256);
        var started = time.GetTimestamp();
        GatehouseTelemetry.Waiting.Add(1, remote);
        using var deadline = new CancellationTokenSource(wait, time);
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, deadline.Token, lifetime.ApplicationStopping);
        try
        {
            // In-process single flight spares Durable the duplicate starts of a burst; across instances the instance id does it.
            await _starts.RunAsync(sha256, async () =>
            {
                await starter.EnsureStartedAsync(remotes.Scan(reference, source), scheduler, CancellationToken.None);
                return true;
            }).WaitAsync(waiting.Token);
            if (await facts.GetAsync(sha256, requestAborted) is { IsCurrent: true } early)
            {
                return Waited(await DecidedAsync(early, reference, request, requestAborted), started, remote);
            }
            var completion = scheduler.WaitForCompletionAsync(sha256, waiting.Token);
            await Task.WhenAny(subscription.Published.WaitAsync(waiting.Token), completion);
            if (await facts.GetAsync(sha256, requestAborted) is { IsCurrent: true } recorded)
            {
                return Waited(await DecidedAsync(recorded, reference, request, requestAborted), started, remote);
            }
            var outcome = await completion;
            if (outcome?.Problem is { } problem)
            {
                return problem == FetchProblem.DigestMismatch ? GateResult.DigestMismatch(outcome.Message!) : GateResult.UpstreamFailed(outcome.Message!);
            }
            log.LogError("Scan of {Sha256} ({FileName}) ended without facts", sha256, reference.FileName);
            return GateResult.Pending(_options.RetryAfterSeconds, "The scan failed and will be retried");
        }
        catch (OperationCanceledException) when (!requestAborted.IsCancellationRequested)
        {
            return GateResult.Pending(_options.RetryAfterSeconds, "Fetch and scan in progress, retry later");
        }
        finally
        {
            GatehouseTelemetry.Waiting.Add(-1, remote);
        }
    }

    /// <summary>A decision a request waited for: its time to verdict is measured.</summary>
    private GateResult Waited(GateResult decided, long started, KeyValuePair<string, object?> remote)
    {
        GatehouseTelemetry.TimeToVerdict.Record(time.GetElapsedTime(started).TotalSeconds, remote);
        return decided;
    }

    /// <summary>
    /// A content's blob is gone although its facts say where it was (deleted by hand, or by a retention rule): its facts
    /// are dropped, so the next request fetches and scans it again.
    /// </summary>
    public Task ContentMissingAsync(string sha256, CancellationToken cancellationToken)
    {
        log.LogError("The blob of {Sha256} is missing although its facts place it; forgetting the facts so it is fetched and scanned again", sha256);
        return facts.ForgetAsync(sha256, cancellationToken);
    }

    /// <summary>The reference's decision; content allowed here while it sits in quarantine (refused where it was first asked for) moves to artifacts.</summary>
    private async Task<GateResult> DecidedAsync(ContentFacts known, ArtifactReference reference, RequestFacts? request, CancellationToken cancellationToken)
    {
        var decision = await decisions.DecideAsync(known, reference, cancellationToken, request);
        if (decision.IsAllowed)
        {
            known = await placement.MoveAsync(known, Storage.GatehouseStorage.ArtifactsContainer, cancellationToken);
        }
        return GateResult.Decided(known, decision);
    }
}

/// <summary>How a gated request ends.</summary>
public sealed record GateResult(GateStatus Status, ContentFacts? Facts, ArtifactDecision? Decision, string? Message, int RetryAfterSeconds = 0)
{
    public static GateResult Decided(ContentFacts facts, ArtifactDecision decision) =>
        new(decision.IsAllowed ? GateStatus.Allowed : GateStatus.Refused, facts, decision, decision.Reason);

    /// <summary>Refused on the remote's facts alone: the content was never fetched, so there are no content facts.</summary>
    public static GateResult RefusedBeforeFetch(ArtifactDecision decision) => new(GateStatus.Refused, null, decision, decision.Reason);

    public static GateResult Pending(int retryAfter, string message) => new(GateStatus.Pending, null, null, message, retryAfter);

    public static GateResult UpstreamFailed(string message) => new(GateStatus.UpstreamFailed, null, null, message);

    public static GateResult DigestMismatch(string message) => new(GateStatus.DigestMismatch, null, null, message);
}

/// <summary>The kinds of outcome.</summary>
public enum GateStatus
{
    Allowed,
    Refused,
    Pending,
    UpstreamFailed,
    DigestMismatch,
}
