using System.Security.Cryptography;
using Azure;
using Gatehouse.Artifacts;
using Gatehouse.Http;
using Gatehouse.Storage;
using Gatehouse.Verdicts;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace Gatehouse.PyPI;

/// <summary>
/// <c>/pypi/files/{project}/{sha256}/{filename}</c> and its <c>.metadata</c>: serves only content with an allowed
/// verdict; a cold file goes through <see cref="ArtifactGate"/>.
/// </summary>
public sealed class FilesEndpoint
{
    private const string MetadataSuffix = ".metadata";
    private const long MaxMetadataBytes = 16 * 1024 * 1024;

    private readonly SimpleIndexCache _index;
    private readonly ReferenceStore _references;
    private readonly VerdictStore _verdicts;
    private readonly ArtifactGate _gate;
    private readonly GatehouseStorage _storage;
    private readonly PyPIUpstream _upstream;
    private readonly BlobResponses _blobs;
    private readonly ILogger<FilesEndpoint> _log;

    public FilesEndpoint(SimpleIndexCache index, ReferenceStore references, VerdictStore verdicts, ArtifactGate gate, GatehouseStorage storage,
        PyPIUpstream upstream, BlobResponses blobs, ILogger<FilesEndpoint> log)
    {
        _index = index;
        _references = references;
        _verdicts = verdicts;
        _gate = gate;
        _storage = storage;
        _upstream = upstream;
        _blobs = blobs;
        _log = log;
    }

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
        var known = await _verdicts.GetAsync(sha256, context.RequestAborted);
        if (known is { IsAllowed: false })
        {
            await RefuseAsync(context, known, filename);
            return;
        }
        if (isMetadata)
        {
            await ServeMetadataAsync(context, project, sha256, filename);
            return;
        }
        if (known is not null)
        {
            await ServeAllowedAsync(context, known);
            return;
        }
        var reference = await FindReferenceAsync(project, sha256, filename, context.RequestAborted);
        if (reference is null)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"{filename} with sha256 {sha256} is not in the index of {project}");
            return;
        }
        var subject = $"{project} {DistributionFile.Version(filename, project) ?? "?"}";
        var result = await _gate.GetAsync(new ArtifactRequest(reference, "pypi", subject), durable, _gate.InlineWait, context.RequestAborted);
        switch (result.Status)
        {
            case GateStatus.Allowed:
                await ServeAllowedAsync(context, result.Verdict!);
                break;
            case GateStatus.Refused:
                await RefuseAsync(context, result.Verdict!, filename);
                break;
            case GateStatus.Pending:
                await HttpResponses.RetryLaterAsync(context, result.RetryAfterSeconds, $"{result.Message}: {filename} is being scanned by Gatehouse");
                break;
            default:
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status502BadGateway, result.Message ?? "Upstream failed");
                break;
        }
    }

    private async Task<ArtifactReference?> FindReferenceAsync(string project, string sha256, string filename, CancellationToken cancellationToken)
    {
        var lookup = await _index.GetAsync(project, cancellationToken);
        if (lookup.Project?.Find(filename) is { } file)
        {
            return file.Sha256 == sha256
                ? new ArtifactReference(ReferenceStore.PyPIPartition(project), filename, sha256, file.Url, file.UploadTime, file.Size ?? 0)
                : null;
        }
        // The index may be unreachable while a reference recorded earlier still says where the file lives.
        var stored = await _references.GetAsync(ReferenceStore.PyPIPartition(project), filename, cancellationToken);
        return stored?.Sha256 == sha256 ? stored : null;
    }

    private Task ServeAllowedAsync(HttpContext context, StoredVerdict verdict) =>
        _blobs.ServeAsync(context, _storage.Artifact(verdict.Sha256), verdict.Sha256, verdict.Size, verdict.DecidedAt, "application/octet-stream");

    private Task RefuseAsync(HttpContext context, StoredVerdict verdict, string filename)
    {
        _log.LogWarning("Refused {FileName} ({Sha256}): {Decision} by rule {Rule}", filename, verdict.Sha256, verdict.Decision, verdict.Rule);
        return HttpResponses.WriteErrorAsync(context, StatusCodes.Status403Forbidden, verdict.Reason,
            $"file: {filename}\nsha256: {verdict.Sha256}\ndecision: {verdict.Decision}\nrule: {verdict.Rule}");
    }

    /// <summary>PEP 658: the metadata file exactly as advertised, verified against its hash, cached for stale serving.</summary>
    private async Task ServeMetadataAsync(HttpContext context, string project, string sha256, string filename)
    {
        var lookup = await _index.GetAsync(project, context.RequestAborted);
        var file = lookup.Project?.Find(filename);
        if (file is null || file.Sha256 != sha256 || !file.HasCoreMetadata || file.CoreMetadataSha256 is not { } metadataSha)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No core metadata advertised for {filename}");
            return;
        }
        var cached = _storage.Container(GatehouseStorage.UpstreamCacheContainer).GetBlobClient($"pypi/metadata/{metadataSha}");
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
            using var response = await _upstream.GetFileAsync(new Uri(file.Url + MetadataSuffix), context.RequestAborted);
            if (response is null || !response.IsSuccessStatusCode)
            {
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status502BadGateway, $"Upstream unavailable for {filename}.metadata");
                return;
            }
            if (response.Content.Headers.ContentLength is > MaxMetadataBytes)
            {
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status502BadGateway, $"Upstream metadata for {filename} is too large");
                return;
            }
            var data = await response.Content.ReadAsByteArrayAsync(context.RequestAborted);
            if (Convert.ToHexStringLower(SHA256.HashData(data)) != metadataSha)
            {
                _log.LogError("Core metadata of {FileName} does not match the advertised sha256 (rule {Rule})", filename, "fetch.digest-mismatch");
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status502BadGateway, $"Upstream metadata of {filename} does not match its advertised digest");
                return;
            }
            bytes = BinaryData.FromBytes(data);
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
