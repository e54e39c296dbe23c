using Gatehouse.Audit;
using Gatehouse.Configuration;
using Gatehouse.PyPI;
using Gatehouse.Scans;
using Gatehouse.Storage;
using Gatehouse.Verdicts;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Artifacts;

/// <summary>
/// The cold-miss path: nothing is served without a verdict. A first request fetches the file into staging
/// (verifying its digest), starts <see cref="ScanArtifactOrchestrator"/> with the sha256 as instance id, and waits
/// for the verdict up to the inline wait. Concurrent requests for one content share one fetch and one orchestration.
/// </summary>
public sealed class ArtifactGate
{
    private readonly GatehouseStorage _storage;
    private readonly VerdictStore _verdicts;
    private readonly ReferenceStore _references;
    private readonly PyPIUpstream _upstream;
    private readonly AuditLog _audit;
    private readonly ILogger<ArtifactGate> _log;
    private readonly ScanOptions _options;
    private readonly VerdictSignals _signals;
    private readonly SingleFlight<string, StartOutcome> _starts = new();

    public ArtifactGate(GatehouseStorage storage, VerdictStore verdicts, ReferenceStore references, PyPIUpstream upstream, AuditLog audit,
        VerdictSignals signals, IOptions<GatehouseOptions> options, ILogger<ArtifactGate> log)
    {
        _signals = signals;
        _storage = storage;
        _verdicts = verdicts;
        _references = references;
        _upstream = upstream;
        _audit = audit;
        _options = options.Value.Scan;
        _log = log;
    }

    /// <summary>How long staged content without a scan is left to whoever staged it before a request starts the scan itself.</summary>
    public static readonly TimeSpan StagedHandover = TimeSpan.FromSeconds(60);

    private const string OwnerMetadata = "stagedby";

    /// <summary>How long a request that cannot be asked to come back in slices waits for a cold file's verdict.</summary>
    public TimeSpan InlineWait => TimeSpan.FromSeconds(_options.InlineWaitSeconds);

    /// <summary>The orchestration instance id for a content: its lower-case hex sha256.</summary>
    public static string InstanceId(string sha256) => sha256;

    /// <summary>
    /// The verdict for <paramref name="request"/>'s content, starting (or joining) its fetch and scan when there is none
    /// yet, and waiting for it at most <paramref name="wait"/>; after that, <see cref="GateStatus.Pending"/>. The fetch
    /// and the scan go on without the request, so a wait of zero starts them and returns at once.
    /// </summary>
    public async Task<GateResult> GetAsync(ArtifactRequest request, DurableTaskClient durable, TimeSpan wait, CancellationToken requestAborted)
    {
        var sha256 = request.Reference.Sha256;
        if (await _verdicts.GetAsync(sha256, requestAborted) is { } known)
        {
            return GateResult.Decided(known);
        }
        var start = _starts.RunAsync(sha256, () => EnsureScanStartedAsync(request, durable));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        deadline.CancelAfter(wait);
        var stage = "Fetching from upstream";
        try
        {
            if ((await start.WaitAsync(deadline.Token)).Failure is { } failure)
            {
                return failure;
            }
            stage = "Scan in progress";
            // Whichever comes first: the in-process signal from RecordVerdictActivity, or Durable's completion.
            var published = _signals.WhenPublished(sha256);
            if (await _verdicts.GetAsync(sha256, requestAborted) is { } early)
            {
                return GateResult.Decided(early);
            }
            var completion = durable.WaitForInstanceCompletionAsync(InstanceId(sha256), getInputsAndOutputs: false, deadline.Token);
            await Task.WhenAny(published.WaitAsync(deadline.Token), completion);
            if (await _verdicts.GetAsync(sha256, requestAborted) is { } verdict)
            {
                return GateResult.Decided(verdict);
            }
            var done = await completion;
            _log.LogError("Scan of {Sha256} ({FileName}) ended {Status} without a verdict", sha256, request.Reference.FileName, done.RuntimeStatus);
            return GateResult.Pending(_options.RetryAfterSeconds, "The scan failed and will be retried");
        }
        catch (OperationCanceledException) when (!requestAborted.IsCancellationRequested)
        {
            return GateResult.Pending(_options.RetryAfterSeconds, $"{stage}, retry later");
        }
    }

    /// <summary>Joins the running fetch of a content, or fetches it and starts its scan; failures become results, logged here, since no request may be waiting.</summary>
    private async Task<StartOutcome> EnsureScanStartedAsync(ArtifactRequest request, DurableTaskClient durable)
    {
        try
        {
            return await StartScanAsync(request, durable);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            // The upstream broke off mid-body; StagingWriter committed nothing.
            _log.LogWarning(e, "Upstream fetch of {FileName} ({Sha256}) broke off", request.Reference.FileName, request.Reference.Sha256);
            return new StartOutcome(GateResult.UpstreamFailed($"Upstream {new Uri(request.Reference.UpstreamUrl).Authority} broke off the transfer of {request.Reference.FileName}"));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _log.LogError(e, "Fetching or starting the scan of {FileName} ({Sha256}) failed", request.Reference.FileName, request.Reference.Sha256);
            throw;
        }
    }

    private async Task<StartOutcome> StartScanAsync(ArtifactRequest request, DurableTaskClient durable)
    {
        var reference = request.Reference;
        var id = InstanceId(reference.Sha256);
        using var budget = new CancellationTokenSource(TimeSpan.FromHours(2));
        // The scan may have finished between the caller's verdict lookup and this flight: never fetch twice.
        if (await _verdicts.GetAsync(reference.Sha256, budget.Token) is not null)
        {
            return StartOutcome.Started;
        }
        var instance = await durable.GetInstanceAsync(id, getInputsAndOutputs: false, budget.Token);
        if (instance is { RuntimeStatus: OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending })
        {
            return StartOutcome.Started;
        }
        var staged = _storage.Staging(reference.Sha256);
        if (await StagedAsync(reference.Sha256, budget.Token) is { } stagedBlob)
        {
            // Staged but not scanning: a prefetch (ScanRepositoryOrchestrator) stages first and starts the scan as its
            // sub-orchestration moments later. Starting it here too would make that sub-orchestration a duplicate.
            if (DateTimeOffset.UtcNow - stagedBlob.Since < StagedHandover)
            {
                return new StartOutcome(GateResult.Pending(_options.RetryAfterSeconds, "Scan starting, retry later"));
            }
        }
        else
        {
            var fetch = await FetchAsync(request, staged, budget.Token);
            if (fetch is not null)
            {
                return new StartOutcome(fetch);
            }
        }
        await _references.RecordAsync(reference, budget.Token);
        var scan = new ScanRequest(reference.Sha256, request.Ecosystem, request.Subject, reference.FileName, reference.Size);
        try
        {
            await durable.ScheduleNewOrchestrationInstanceAsync(nameof(ScanArtifactOrchestrator), scan, new StartOrchestrationOptions(id), budget.Token);
            _log.LogInformation("Scan started for {Sha256} ({Subject}, {FileName})", reference.Sha256, request.Subject, reference.FileName);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Another instance of the app (or a replica) may have started it first; that is the same scan.
            var again = await durable.GetInstanceAsync(id, getInputsAndOutputs: false, budget.Token);
            if (again is null)
            {
                throw;
            }
            _log.LogInformation("Scan for {Sha256} already exists ({Status})", reference.Sha256, again.RuntimeStatus);
        }
        return StartOutcome.Started;
    }

    /// <summary>
    /// Fetches <paramref name="request"/>'s content into <c>staging/{sha256}</c>, verifying digest and size, without
    /// starting a scan. Null when staged; otherwise why not (upstream failure or digest mismatch, audited).
    /// </summary>
    /// <param name="owner">Recorded on the staged blob (see <see cref="StagedAsync"/>), so its stager can recognise it after a retry.</param>
    public Task<GateResult?> StageAsync(ArtifactRequest request, string? owner, CancellationToken cancellationToken) =>
        FetchAsync(request, _storage.Staging(request.Reference.Sha256), cancellationToken, owner);

    /// <summary>When the content was staged (committed to <c>staging</c>) and by whom, or null when it is not staged.</summary>
    public async Task<StagedBlob?> StagedAsync(string sha256, CancellationToken cancellationToken)
    {
        try
        {
            var properties = (await _storage.Staging(sha256).GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
            return new StagedBlob(properties.LastModified, properties.Metadata.TryGetValue(OwnerMetadata, out var owner) ? owner : null);
        }
        catch (Azure.RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    private async Task<GateResult?> FetchAsync(ArtifactRequest request, Azure.Storage.Blobs.Specialized.BlockBlobClient staged, CancellationToken cancellationToken,
        string? owner = null)
    {
        var reference = request.Reference;
        var url = new Uri(reference.UpstreamUrl);
        using var response = await (request.Source ?? _upstream.GetFileAsync)(url, cancellationToken);
        if (response is null || !response.IsSuccessStatusCode)
        {
            var status = response is null ? "no answer" : ((int)response.StatusCode).ToString();
            _log.LogWarning("Upstream fetch of {FileName} failed: {UpstreamStatus}", reference.FileName, status);
            return GateResult.UpstreamFailed($"Upstream {url.Authority} unavailable ({status}) for {reference.FileName}");
        }
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var outcome = await StagingWriter.WriteVerifiedAsync(body, staged, reference.Sha256, reference.Size > 0 ? reference.Size : null, cancellationToken,
            owner is null ? null : new Dictionary<string, string> { [OwnerMetadata] = owner });
        if (!outcome.IsVerified)
        {
            _log.LogError("Refused {FileName} from upstream: {Problem} (rule {Rule})", reference.FileName, outcome.Problem, "fetch.digest-mismatch");
            await _audit.WriteAsync("refuse", $"{request.Subject} {reference.FileName}", $"fetch.digest-mismatch: {outcome.Problem}", cancellationToken);
            return GateResult.DigestMismatch($"Upstream content of {reference.FileName} does not match the index digest");
        }
        _log.LogInformation("Fetched {FileName} ({Size} bytes) into staging as {Sha256} in {FetchMs} ms (transfer, sha256 and staging in one pass)",
            reference.FileName, outcome.Size, reference.Sha256, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return null;
    }

    private sealed record StartOutcome(GateResult? Failure)
    {
        public static readonly StartOutcome Started = new((GateResult?)null);
    }
}

/// <summary>
/// What to fetch and scan, and under which registry name. <paramref name="Source"/> opens
/// <see cref="ArtifactReference.UpstreamUrl"/>; null means PyPI's <see cref="PyPIUpstream.GetFileAsync"/>.
/// </summary>
public sealed record ArtifactRequest(ArtifactReference Reference, string Ecosystem, string Subject, ArtifactSource? Source = null);

/// <summary>Opens an upstream file for the gate's verified fetch; null when the upstream could not be reached.</summary>
public delegate Task<HttpResponseMessage?> ArtifactSource(Uri url, CancellationToken cancellationToken);

/// <summary>How a gated request ends.</summary>
public sealed record GateResult(GateStatus Status, StoredVerdict? Verdict, string? Message, int RetryAfterSeconds = 0)
{
    public static GateResult Decided(StoredVerdict v) => new(v.IsAllowed ? GateStatus.Allowed : GateStatus.Refused, v, v.Reason);
    public static GateResult Pending(int retryAfter, string message) => new(GateStatus.Pending, null, message, retryAfter);
    public static GateResult UpstreamFailed(string message) => new(GateStatus.UpstreamFailed, null, message);
    public static GateResult DigestMismatch(string message) => new(GateStatus.DigestMismatch, null, message);
}

/// <summary>A staged content: when it was committed, and the owner its stager recorded (null for downloads).</summary>
public sealed record StagedBlob(DateTimeOffset Since, string? Owner);

/// <summary>The kinds of outcome.</summary>
public enum GateStatus
{
    Allowed,
    Refused,
    Pending,
    UpstreamFailed,
    DigestMismatch,
}
