using Gatehouse.Configuration;
using Gatehouse.Oci.Layers;
using Gatehouse.Oci.Upstream;
using Gatehouse.Pipeline;
using Gatehouse.Scans;
using Gatehouse.Scans.Archives;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Oci.Scanning;

/// <summary>
/// Takes the manifest's scan claim, makes sure its bytes are held (the manifest endpoint stages them; a rescan may
/// have to fetch them again), and lists the blobs to read. A manifest that cannot be read ends the scan with why.
/// </summary>
public sealed class PrepareImageActivity(ContentFetcher fetcher, ContentStore content, IScanClaims claims, OciUpstream upstream, IOptions<GatehouseOptions> options)
    : TaskActivity<ScanRequest, ImagePlan>
{
    public override async Task<ImagePlan> RunAsync(TaskActivityContext context, ScanRequest input)
    {
        var ct = CancellationToken.None;
        await claims.TakeAsync(input.Sha256, context.InstanceId, ct);
        var fetched = await fetcher.FetchAsync(input.Requester, ct);
        if (!fetched.Staged)
        {
            return ImagePlan.Failed(fetched.Message ?? "the manifest could not be fetched");
        }
        if (upstream.FromUrl(new Uri(input.Requester.UpstreamUrl)) is not { } located)
        {
            return ImagePlan.Failed($"{input.Requester.UpstreamUrl} is not a manifest of a configured registry");
        }
        OciManifest manifest;
        try
        {
            manifest = await OciManifest.ReadHeldAsync(content, input.Sha256, options.Value.Oci.MaxManifestBytes, ct);
        }
        catch (OciManifestException e)
        {
            return ImagePlan.Failed($"the manifest cannot be read: {e.Message}");
        }
        if (manifest.IsIndex)
        {
            return ImagePlan.Failed("an index names no layers; each platform's manifest is scanned when it is pulled");
        }
        var repository = located.Repository;
        ArtifactReference Blob(OciDescriptor blob) => OciRemote.BlobReference(repository, blob);
        return new ImagePlan(manifest.Config is { } config ? Blob(config) : null, [.. manifest.Layers.Select(Blob)], null);
    }
}

/// <summary>
/// Fetches one blob (digest verified while it streams into staging) and reads it as a layer
/// (<see cref="LayerInspector"/>), keeping the report per digest. A blob already reported is not read again; a blob
/// another image's scan is reading (it holds the blob's claim) is waited for instead of fetched twice.
/// </summary>
public sealed class InspectLayerActivity(ContentFetcher fetcher, ContentStore content, LayerReports reports, IScanClaims claims, ModelScanSlots slots,
    IOptions<GatehouseOptions> options, TimeProvider time, ILogger<InspectLayerActivity> log) : TaskActivity<LayerRequest, LayerOutcome>
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    public override async Task<LayerOutcome> RunAsync(TaskActivityContext context, LayerRequest input)
    {
        var ct = CancellationToken.None;
        var blob = input.Blob;
        var claim = "layer:" + blob.Sha256;
        var lifetime = TimeSpan.FromMinutes(options.Value.Scan.ClaimMinutes);
        while (await reports.GetAsync(blob.Sha256, ct) is null)
        {
            if (await claims.TryClaimAsync(claim, context.InstanceId, lifetime, ct))
            {
                try
                {
                    return await ReadAsync(blob, ct);
                }
                finally
                {
                    await claims.ReleaseAsync(claim, ct);
                }
            }
            await Task.Delay(Poll, time, ct);
        }
        return LayerOutcome.Read(blob.Sha256);
    }

    private async Task<LayerOutcome> ReadAsync(ArtifactReference blob, CancellationToken ct)
    {
        var fetched = await fetcher.FetchAsync(blob, ct);
        if (!fetched.Staged)
        {
            return new LayerOutcome(blob.Sha256, fetched.Problem, fetched.Message);
        }
        using var slot = await slots.EnterAsync(ct);
        var started = time.GetTimestamp();
        await using var stream = await content.OpenAsync(blob.Sha256, ct);
        using var budget = ScanBudget.For(stream.Length, options.Value.Scan);
        var report = await LayerInspector.InspectAsync(stream, "sha256:" + blob.Sha256, budget, budget.Deadline);
        await reports.SaveAsync(blob.Sha256, report, ct);
        log.LogInformation("Layer {Digest} of {Subject} read in {CheckMs} ms: {Compression}, {Files} files, {Findings} findings, {Packages} packages{Error}",
            blob.Sha256, blob.Subject, time.GetElapsedTime(started).TotalMilliseconds, report.Compression, report.Files.Count, report.Findings.Count,
            report.Packages.Count, report.Error is null ? "" : "; stopped: " + report.Error);
        return LayerOutcome.Read(blob.Sha256);
    }
}

/// <summary>
/// Judges an image's layers together as the filesystem a container gets (<see cref="ImageFilesystem"/>): a finding in
/// a file that a later layer deletes or replaces is not the image's. A layer that could not be read fails the check
/// closed. Packages and their advisories are the remote's facts (<see cref="OciRemote.GatherAsync"/>), so a new
/// advisory changes the decision without reading the layers again.
/// </summary>
public sealed class JudgeImageActivity(LayerReports reports) : TaskActivity<ImageJudgement, CheckResult>
{
    public override async Task<CheckResult> RunAsync(TaskActivityContext context, ImageJudgement input)
    {
        var layers = new List<LayerReport>();
        foreach (var sha in input.Layers)
        {
            layers.Add(await reports.GetAsync(sha, CancellationToken.None) ?? throw new InvalidOperationException($"Layer {sha} has no report"));
        }
        var image = ImageFilesystem.Merge(layers);
        var findings = image.Findings.Select(f => f.Finding with
        {
            Path = "/" + f.Path,
            // The path leads: the message is what a refused client prints.
            Message = $"/{f.Path}: {f.Finding.Message} (layer {f.LayerDigest[..Math.Min(f.LayerDigest.Length, 19)]})",
        }).ToList();
        var errors = layers.Where(l => l.Error is not null).Select(l => $"layer {l.Digest}: {l.Error}").ToList();
        return new CheckResult(ImageChecks.Layers, findings, errors.Count > 0 ? string.Join("; ", errors) : null, Archive: ArchiveFormat.Unknown,
            ModelFormat: ImageChecks.Format);
    }
}

/// <summary>Gives up the manifest's scan claim when its scan ends without facts, so the next pull starts it again at once.</summary>
public sealed class ReleaseImageClaimActivity(IScanClaims claims) : TaskActivity<string, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, string input)
    {
        await claims.ReleaseAsync(input, CancellationToken.None);
        return true;
    }
}
