using System.Text.Json.Nodes;
using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Gatehouse.Audit;
using Gatehouse.Configuration;
using Gatehouse.Http;
using Gatehouse.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Uploads;

/// <summary>
/// <c>/uploads/{path}</c>: GET and HEAD serve an uploaded file once its current version was scanned and allowed (403
/// with the rule when refused, 503 with <c>Retry-After</c> while it is scanned, 404 when no such blob exists); PUT
/// writes one into the <c>uploads</c> container as the calling token (blob metadata <c>uploader</c>) and starts its scan
/// at once. The file is served from the scanned, content-addressed copy, never from the blob a team can still rewrite.
/// </summary>
public sealed class UploadsEndpoint(UploadsRemote remote, IReferenceStore references, UploadIntake intake, ArtifactGate gate, ContentStore content, BlobResponses blobs,
    Downloads downloads, IOptions<GatehouseOptions> options, ILogger<UploadsEndpoint> log)
{
    private readonly int _retryAfter = options.Value.Scan.RetryAfterSeconds;

    public async Task HandleAsync(HttpContext context, DurableTaskClient durable, string? rawPath)
    {
        if (UploadPath.Parse(rawPath) is not { } path)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound,
                "Not an upload path: use uploads/models/<org>/<name>/<file> or uploads/pypi/<project>/<file>");
            return;
        }
        var scans = new UploadScans(durable, log);
        if (HttpMethods.IsPut(context.Request.Method))
        {
            await PutAsync(context, path, scans);
            return;
        }
        BlobProperties properties;
        try
        {
            properties = (await remote.Container.GetBlobClient(path.Name).GetPropertiesAsync(cancellationToken: context.RequestAborted)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            await HttpResponses.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"No upload at uploads/{path.Name}");
            return;
        }
        var etag = UploadScans.VersionOf(properties.ETag);
        var stored = await references.GetAsync(path.Key, context.RequestAborted);
        if (stored?.Reference is not { } reference || reference.ClientEtag != etag)
        {
            // Not prepared yet (the trigger or watcher has not got to it): start it now; the instance id makes that harmless.
            await scans.StartAsync(path.Name, etag, context.RequestAborted);
            await HttpResponses.RetryLaterAsync(context, _retryAfter, $"uploads/{path.Name} is being scanned by Gatehouse");
            return;
        }
        var result = await gate.GetAsync(reference, gate.InlineWait, PrepareUploadActivity.Upload, durable, context.RequestAborted);
        switch (result.Status)
        {
            case GateStatus.Allowed:
                var facts = result.Facts!;
                HttpResponses.AddWarnings(context, result.Decision!.Warnings);
                if (!await blobs.ServeAsync(context, content.Blob(facts.Container, facts.Sha256), facts.Sha256, facts.Size, facts.ScannedAt, "application/octet-stream"))
                {
                    await gate.ContentMissingAsync(facts.Sha256, context.RequestAborted);
                    await HttpResponses.RetryLaterAsync(context, 1, $"uploads/{path.Name} must be scanned again");
                    break;
                }
                await downloads.ServedAsync(context, reference, facts.Size);
                break;
            case GateStatus.Refused:
                var decision = result.Decision!;
                var uploader = await intake.UploaderOfAsync(path.Key, context.RequestAborted) ?? UploadIntake.UnknownUploader;
                log.LogWarning("Refused upload {BlobName} ({Sha256}) by {Uploader}: {Decision} by rule {Rule}", path.Name, reference.Sha256, uploader, decision.Decision,
                    decision.Rule);
                await HttpResponses.WriteErrorAsync(context, StatusCodes.Status403Forbidden, decision.Reason,
                    $"file: uploads/{path.Name}\nsha256: {reference.Sha256}\nuploader: {uploader}\ndecision: {decision.Decision}\nrule: {decision.Rule}");
                break;
            case GateStatus.Pending:
                await HttpResponses.RetryLaterAsync(context, result.RetryAfterSeconds, $"{result.Message}: uploads/{path.Name} is being scanned by Gatehouse");
                break;
            default:
                // The blob could not be read whole, or changed while it was read: its next version is scanned on its own.
                await HttpResponses.RetryLaterAsync(context, _retryAfter, result.Message ?? $"uploads/{path.Name} could not be read; retry later");
                break;
        }
    }

    /// <summary>Writes the body as the blob, its uploader the calling token, and starts its scan; 202 with where to fetch it.</summary>
    private async Task PutAsync(HttpContext context, UploadPath path, UploadScans scans)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            // Kestrel's 30 MB default would refuse a model; the body is streamed to the blob in blocks, never buffered whole.
            limit.MaxRequestBodySize = null;
        }
        var caller = Caller.Of(context);
        var uploader = MetadataValue(caller?.TokenName ?? caller?.TokenId ?? UploadIntake.UnknownUploader);
        var blob = remote.Container.GetBlockBlobClient(path.Name);
        var written = await blob.UploadAsync(context.Request.Body, new BlobUploadOptions
        {
            Metadata = new Dictionary<string, string> { [UploadIntake.UploaderMetadata] = uploader },
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
        }, context.RequestAborted);
        var etag = UploadScans.VersionOf(written.Value.ETag);
        await scans.StartAsync(path.Name, etag, context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.Headers.Location = "/uploads/" + string.Join('/', path.Name.Split('/').Select(Uri.EscapeDataString));
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(new JsonObject
        {
            ["path"] = path.Name,
            ["etag"] = etag,
            ["uploader"] = uploader,
            ["status"] = "scanning",
        }.ToJsonString() + "\n", context.RequestAborted);
    }

    /// <summary>Blob metadata travels as HTTP headers: visible ASCII only.</summary>
    private static string MetadataValue(string value) => new([.. value.Select(c => c is >= ' ' and <= '~' ? c : '?')]);
}
