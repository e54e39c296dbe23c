using Gatehouse.Audit;
using Gatehouse.Scans.Archives;
using Gatehouse.Storage;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Gatehouse.Telemetry;

namespace Gatehouse.Pipeline;

/// <summary>
/// Fetches and stages the content from the requester's remote (<see cref="ContentFetcher"/>), and runs the content
/// checks in this process (<see cref="LocalContentChecks"/>): on the local copy as soon as the bytes are verified, while
/// the last blocks are still being staged, or on the blob once staged. The scan holds the content's claim from here
/// until its facts are recorded; a fetch that fails gives it up.
/// </summary>
public sealed class FetchContentActivity(ContentFetcher fetcher, IScanClaims claims, LocalContentChecks checks, LocalStagedCopies copies, IOptions<StagingOptions> options)
    : TaskActivity<ScanRequest, FetchOutcome>
{
    private readonly bool _checks = options.Value.ChecksWithFetch;

    public override async Task<FetchOutcome> RunAsync(TaskActivityContext context, ScanRequest input)
    {
        await claims.TakeAsync(input.Sha256, context.InstanceId, CancellationToken.None);
        using var span = GatehouseTelemetry.Source.StartActivity("fetch");
        span?.SetTag("gatehouse.sha256", input.Sha256);
        span?.SetTag("gatehouse.remote", input.Requester.Remote.Name);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        Task<IReadOnlyList<CheckResult>>? checking = null;
        FetchOutcome outcome;
        try
        {
            outcome = await fetcher.FetchAsync(input.Requester, CancellationToken.None,
                verified: () => checking = _checks && copies.Holds(input.Sha256) ? checks.RunAsync(context.InstanceId, input.Sha256) : null);
        }
        catch when (checking is not null)
        {
            // The commit failed after the checks began on the local copy: they end before the retry starts over.
            await checking.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
        GatehouseTelemetry.FetchDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds,
            new KeyValuePair<string, object?>("remote", input.Requester.Remote.Name), new KeyValuePair<string, object?>("staged", outcome.Staged));
        if (!outcome.Staged)
        {
            await claims.ReleaseAsync(input.Sha256, CancellationToken.None);
            return outcome;
        }
        return _checks ? outcome with { Checks = await (checking ?? checks.RunAsync(context.InstanceId, input.Sha256)) } : outcome;
    }
}

/// <summary>
/// What the requester's remote knows of it (advisories, licence, name, age, provenance), gathered while the checks
/// read the content, so the decision after them finds the facts at hand.
/// </summary>
public sealed class GatherReferenceFactsActivity(RemoteRegistry remotes) : TaskActivity<ArtifactReference, ReferenceFacts>
{
    public override Task<ReferenceFacts> RunAsync(TaskActivityContext context, ArtifactReference input) =>
        remotes[input.Remote].GatherAsync(input, FactScope.Full, CancellationToken.None);
}

/// <summary>
/// Puts the checks' results together as the content's facts, moves the blob to <c>artifacts</c> (its first requester
/// is allowed it) or <c>quarantine</c>, and only then writes the facts row that serving reads, so facts never point at a
/// missing blob. Then it decides for the requester and for every other recorded reference to the content. Idempotent
/// on retry.
/// </summary>
public sealed class RecordFactsActivity(ContentStore content, IFactsStore facts, IReferenceStore references, ReferenceDecisions decisions, ScanSignals signals,
    IScanClaims claims, IAuditLog audit, TimeProvider time, ILogger<RecordFactsActivity> log) : TaskActivity<FactsInput, ScanOutcome>
{
    public override async Task<ScanOutcome> RunAsync(TaskActivityContext context, FactsInput input)
    {
        var ct = CancellationToken.None;
        var request = input.Request;
        var combined = Combine(request.Requester, input.Results, time.GetUtcNow(), input.Checks);
        // The blob goes where its first requester's decision puts it; a later decision that allows it moves it to artifacts.
        var allowed = (await decisions.PreviewAsync(combined, request.Requester, ct, gathered: input.RequesterFacts)).Outcome.Decision == Decision.Allowed;
        var recorded = combined with { Container = allowed ? GatehouseStorage.ArtifactsContainer : GatehouseStorage.QuarantineContainer };
        var promoted = await content.PlaceAsync(recorded.Sha256, recorded.Container, ct);
        await facts.SaveAsync(recorded, input.Results, ct);
        await audit.WriteAsync("facts", $"{recorded.Sha256} first asked for as {request.Requester.Remote} {request.Requester.Subject} {request.Requester.FileName}",
            $"{recorded.Findings.Count} findings, {recorded.Errors.Count} failed checks, {recorded.ModelFormat} {recorded.Archive}; placed in {recorded.Container}", ct);
        var decision = await decisions.DecideAsync(recorded, request.Requester, ct, gathered: input.RequesterFacts);
        GatehouseTelemetry.Scans.Add(1, new KeyValuePair<string, object?>("decision", decision.Decision.ToString()),
            new KeyValuePair<string, object?>("remote", request.Requester.Remote.Name));
        log.LogInformation("Verdict {Decision} for {Subject} {FileName} ({Sha256}) by rule {Rule}; moved to {Container} in {PromoteMs} ms",
            decision.Decision, request.Requester.Subject, request.Requester.FileName, recorded.Sha256, decision.Rule, recorded.Container, promoted.TotalMilliseconds);
        signals.Publish(recorded.Sha256);
        await claims.ReleaseAsync(recorded.Sha256, ct);
        foreach (var other in await references.ReferencesToAsync(recorded.Sha256, ct))
        {
            if (other.Reference.Key != request.Requester.Key)
            {
                await decisions.DecideAsync(recorded, other.Reference, other.Decision, ct);
            }
        }
        return new ScanOutcome(recorded.Sha256, null, null, recorded.Container, decision);
    }

    /// <summary>The checks' findings, errors and traits as one set of facts; a check that never reported counts as an error.</summary>
    internal static ContentFacts Combine(ArtifactReference requester, IReadOnlyList<CheckResult> results, DateTimeOffset now, IReadOnlyList<string>? expected = null)
    {
        var findings = results.SelectMany(r => r.Findings.Select(f => f with { Check = r.Check })).ToList();
        var errors = results.Where(r => r.Error is not null).Select(r => new CheckError(r.Check, r.Error!))
            .Concat((expected ?? ContentChecks.All).Where(c => results.All(r => r.Check != c)).Select(c => new CheckError(c, "it reported no result")))
            .ToList();
        return new ContentFacts(
            requester.Sha256,
            requester.Size,
            ContentFacts.CurrentVersion,
            results.Select(r => r.Archive).FirstOrDefault(a => a is not null) ?? ArchiveFormat.Unknown,
            results.Any(r => r.IsWheel == true),
            results.Select(r => r.ModelFormat).FirstOrDefault(f => f is not null) ?? "",
            findings,
            errors,
            GatehouseStorage.QuarantineContainer,
            now);
    }
}

/// <summary>
/// The decision for one reference once its content has current facts (recorded on the reference), or null while it
/// has none: what a prefetch polls for when another request is scanning the content.
/// </summary>
public sealed class ReadDecisionActivity(IFactsStore facts, ReferenceDecisions decisions) : TaskActivity<ArtifactReference, ArtifactDecision?>
{
    public override async Task<ArtifactDecision?> RunAsync(TaskActivityContext context, ArtifactReference input) =>
        await facts.GetAsync(input.Sha256, CancellationToken.None) is { IsCurrent: true } known
            ? await decisions.DecideAsync(known, input, CancellationToken.None)
            : null;
}
