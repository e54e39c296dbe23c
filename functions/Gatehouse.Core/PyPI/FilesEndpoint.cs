using System.Security.Cryptography;
using Azure;
using Gatehouse.Http;
using Gatehouse.Pipeline;
using Gatehouse.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace Gatehouse.PyPI;

/// <summary>
/// <c>/pypi/files/{project}/{sha256}/{filename}</c> and its <c>.metadata</c>: a file is served only under a reference
/// Gatehouse recorded from the project's index (the project, the file name and the sha256 must all match), and only
/// when its decision allows it; a content without facts goes through the <see cref="ArtifactGate"/>.
/// </summary>
public sealed class FilesEndpoint(SimpleIndexCache index, IReferenceStore references, ArtifactGate gate, ContentStore content, GatehouseStorage storage,
    PyPIUpstream upstream, BlobResponses blobs, Downloads downloads, ILogger<FilesEndpoint> log)
{
    private const string MetadataSuffix = ".metadata";

    public async Task HandleAsync(HttpContext context, DurableTaskClient durable, string? path)
    {
        var parts = (path ?? "").Split('/');
        if (parts.Length != 3 || !ProjectName.IsValid(parts[0]) || ProjectName.Normalize(parts[0]) != parts[0] || !DistributionFile.IsSha256(parts[1]))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, "Not a Gatehouse file URL");
            return;
        }
        var (project, sha256, name) = (parts[0], parts[1], parts[2]);
        var isMetadata = name.EndsWith(MetadataSuffix, StringComparison.Ordinal);
        var filename = isMetadata ? name[..^MetadataSuffix.Length] : name;
        if (!DistributionFile.IsValid(filename))
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, "Not a distribution file name");
            return;
        }
        var reference = await FindReferenceAsync(project, sha256, filename, context.RequestAborted);
        if (reference is null)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"{filename} with sha256 {sha256} is not in the index of {project}");
            return;
        }
        if (isMetadata)
        {
            await ServeMetadataAsync(context, project, sha256, filename);
            return;
        }
        var result = await gate.GetAsync(reference, gate.InlineWait, ScanSource.Request, durable, context.RequestAborted);
        switch (result.Status)
        {
            case GateStatus.Allowed:
                var facts = result.Facts!;
                HttpResponses.AddWarnings(context, result.Decision!.Warnings);
                if (!await blobs.ServeAsync(context, content.Blob(facts.Container, facts.Sha256), facts.Sha256, facts.Size, facts.ScannedAt, "application/octet-stream"))
                {
                    await gate.ContentMissingAsync(sha256, context.RequestAborted);
                    await HttpResponses.RetryLaterAsync(context, 1, $"{filename} must be fetched and scanned again");
                    break;
                }
                await downloads.ServedAsync(context, reference, facts.Size);
                break;
            case GateStatus.Refused:
                var decision = result.Decision!;
                log.LogWarning("Refused {FileName} ({Sha256}): {Decision} by rule {Rule}", filename, sha256, decision.Decision, decision.Rule);
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status403Forbidden, decision.Reason,
                    $"file: {filename}\nsha256: {sha256}\ndecision: {decision.Decision}\nrule: {decision.Rule}");
                break;
            case GateStatus.Pending:
                await HttpResponses.RetryLaterAsync(context, result.RetryAfterSeconds, $"{result.Message}: {filename} is being scanned by Gatehouse");
                break;
            default:
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status502BadGateway, result.Message ?? "Upstream failed");
                break;
        }
    }

    /// <summary>
    /// The recorded reference for this project, file and sha256. A file the index lists is recorded on first sight; when
    /// the index cannot be read, a reference recorded earlier still says where the file lives.
    /// </summary>
    private async Task<ArtifactReference?> FindReferenceAsync(string project, string sha256, string filename, CancellationToken cancellationToken)
    {
        var key = PyPIRemote.Key(project, filename);
        var stored = await references.GetAsync(key, cancellationToken);
        var lookup = await index.GetAsync(project, cancellationToken);
        if (lookup.Value?.Find(filename) is { } file)
        {
            if (file.Sha256 != sha256)
            {
                return null;
            }
            var reference = new ArtifactReference(PyPIRemote.Pypi, key, PyPIRemote.Subject(project, filename), filename, sha256, file.Size ?? 0, file.Url,
                file.UploadTime);
            if (stored?.Reference != reference)
            {
                await references.RecordAsync(reference, cancellationToken);
            }
            return reference;
        }
        return stored?.Reference.Sha256 == sha256 ? stored.Reference : null;
    }

    /// <summary>PEP 658: the metadata file exactly as advertised, verified against its hash, cached for stale serving.</summary>
    private async Task ServeMetadataAsync(HttpContext context, string project, string sha256, string filename)
    {
        var lookup = await index.GetAsync(project, context.RequestAborted);
        var file = lookup.Value?.Find(filename);
        if (file is null || file.Sha256 != sha256 || !file.HasCoreMetadata || file.CoreMetadataSha256 is not { } metadataSha)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No core metadata advertised for {filename}");
            return;
        }
        var cached = storage.Container(GatehouseStorage.UpstreamCacheContainer).GetBlobClient($"pypi/metadata/{metadataSha}");
        BinaryData? bytes = null;
        try
        {
            bytes = (await cached.DownloadContentAsync(context.RequestAborted)).Value.Content;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
        }
        if (bytes is null)
        {
            var fetched = await upstream.GetSmallAsync(new Uri(file.Url + MetadataSuffix), "*/*", PyPIUpstream.MaxMetadataBytes, context.RequestAborted);
            if (fetched.Value is not { } metadata)
            {
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status502BadGateway, $"Upstream metadata unavailable for {filename}: {fetched.Error ?? "not found"}");
                return;
            }
            if (Convert.ToHexStringLower(SHA256.HashData(metadata.Body)) != metadataSha)
            {
                log.LogError("Core metadata of {FileName} does not match the advertised sha256 (rule {Rule})", filename, ContentFetcher.DigestMismatchRule);
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status502BadGateway, $"Upstream metadata of {filename} does not match its advertised digest");
                return;
            }
            bytes = BinaryData.FromBytes(metadata.Body);
            await cached.UploadAsync(bytes, overwrite: true, context.RequestAborted);
        }
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = bytes.ToMemory().Length;
        context.Response.Headers.ETag = $"\"{metadataSha}\"";
        context.Response.Headers.CacheControl = "private, no-cache";
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(bytes.ToMemory(), context.RequestAborted);
        }
    }
}
