using Azure;
using Gatehouse.Artifacts;
using Gatehouse.Audit;
using Gatehouse.Policy;
using Gatehouse.Storage;
using Gatehouse.Verdicts;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Scans;

/// <summary>
/// Evaluates the policy, moves the staged blob to <c>artifacts</c> or <c>quarantine</c>, and only then writes the
/// verdict row that serving reads, so an allowed verdict never points at a missing blob. Idempotent on retry.
/// </summary>
public sealed class RecordVerdictActivity(GatehouseStorage storage, VerdictStore verdicts, ReferenceStore references, AuditLog audit,
    VerdictSignals signals, TimeProvider time, ILogger<RecordVerdictActivity> log) : TaskActivity<VerdictInput, Verdict>
{
    public override async Task<Verdict> RunAsync(TaskActivityContext context, VerdictInput input)
    {
        var request = input.Request;
        var verdict = ScanPolicy.Evaluate(request, input.Results);
        var ct = CancellationToken.None;
        var source = storage.Staging(request.Sha256);
        var target = verdict.Decision == Decision.Allowed ? storage.Artifact(request.Sha256) : storage.Quarantined(request.Sha256);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        if (await source.ExistsAsync(ct))
        {
            var copy = await target.StartCopyFromUriAsync(source.Uri, cancellationToken: ct);
            await copy.WaitForCompletionAsync(ct);
        }
        else if (!await target.ExistsAsync(ct))
        {
            throw new InvalidOperationException($"Content {request.Sha256} is neither staged nor in {target.BlobContainerName}.");
        }
        var promoteMs = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await verdicts.SaveAsync(request, verdict, input.Results, time.GetUtcNow(), ct);
        signals.Publish(request.Sha256);
        if (request.Ecosystem == "pypi")
        {
            await references.SetDecisionAsync(ReferenceStore.PyPIPartition(ProjectOf(request.Subject)), request.Sha256, verdict.Decision, verdict.Reason, ct);
        }
        try
        {
            await source.DeleteIfExistsAsync(cancellationToken: ct);
        }
        catch (RequestFailedException e)
        {
            log.LogWarning(e, "Could not delete staged {Sha256}; it is unreachable for clients and can be swept later", request.Sha256);
        }
        await audit.WriteAsync("verdict", $"{request.Subject} {request.FileName} {request.Sha256}", $"{verdict.Decision} by {verdict.Rule}: {verdict.Reason}", ct);
        log.LogInformation("Verdict {Decision} for {Subject} {FileName} ({Sha256}) by rule {Rule}; moved to {Container} in {PromoteMs} ms",
            verdict.Decision, request.Subject, request.FileName, request.Sha256, verdict.Rule, target.BlobContainerName, promoteMs);
        return verdict;
    }

    // PyPI subjects read "<project> <version>".
    private static string ProjectOf(string subject) => subject.Split(' ')[0];
}
