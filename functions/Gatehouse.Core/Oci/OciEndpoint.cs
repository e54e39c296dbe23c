using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure;
using Gatehouse.Audit;
using Gatehouse.Configuration;
using Gatehouse.Http;
using Gatehouse.Oci.Auth;
using Gatehouse.Oci.Upstream;
using Gatehouse.Pipeline;
using Gatehouse.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Oci;

/// <summary>
/// The pull side of the OCI distribution spec under <c>/v2/</c>: the API root, manifests by tag or digest, blobs by
/// digest, and tags. A manifest is fetched once and kept by digest (a tag is trusted for <see cref="OciOptions.TagTtlSeconds"/>),
/// verified against its digest, and an image manifest is answered only once its image was scanned and allowed; a
/// refused image is a 403 <c>DENIED</c> whose message the client prints. A blob is served only when an image allowed
/// in the same repository lists it. Nothing is pushed.
/// </summary>
public sealed partial class OciEndpoint(
    OciAuthorizer authorizer, OciUpstream upstream, OciBlobLinks links, ArtifactGate gate, IReferenceStore references, IFactsStore facts, ContentFetcher fetcher,
    ContentStore content, GatehouseStorage storage, BlobResponses blobs, Downloads downloads, IMemoryCache cache, IOptions<GatehouseOptions> options, ILogger<OciEndpoint> log)
{
    private const string ApiVersionHeader = "Docker-Distribution-API-Version";
    private const string DigestHeader = "Docker-Content-Digest";

    private readonly OciOptions _options = options.Value.Oci;
    private readonly SingleFlight<string, FetchOutcome> _staging = new();

    /// <summary><c>GET /v2/</c>: 200 <c>{}</c> for any valid credential, else the token challenge.</summary>
    public async Task RootAsync(HttpContext context)
    {
        context.Response.Headers[ApiVersionHeader] = "registry/2.0";
        if (await authorizer.AuthorizeAsync(context, null, context.RequestAborted))
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{}", context.RequestAborted);
        }
    }

    public async Task HandleAsync(HttpContext context, DurableTaskClient durable, string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            await RootAsync(context);
            return;
        }
        context.Response.Headers[ApiVersionHeader] = "registry/2.0";
        if (Route(path) is not var (name, kind, argument))
        {
            await OciErrors.WriteAsync(context, StatusCodes.Status404NotFound, OciErrors.NameUnknown, "not a registry API path (/v2/<name>/manifests|blobs|tags/…)");
            return;
        }
        if (OciRepository.Resolve(name, _options, out var error) is not { } repository)
        {
            await OciErrors.WriteAsync(context, StatusCodes.Status400BadRequest, OciErrors.NameInvalid, error);
            return;
        }
        if (!await authorizer.AuthorizeAsync(context, repository, context.RequestAborted))
        {
            return;
        }
        // The authorizer's caller is set in its own async flow; downloads and audit read it from here on.
        Caller.Ambient = Caller.Of(context);
        switch (kind)
        {
            case "manifests":
                await ManifestAsync(context, durable, repository, argument);
                break;
            case "blobs":
                await BlobAsync(context, repository, argument);
                break;
            default:
                await TagsAsync(context, repository);
                break;
        }
    }

    /// <summary>Splits <c>{name}/manifests/{reference}</c>, <c>{name}/blobs/{digest}</c> and <c>{name}/tags/list</c> (the last such segment wins: names may hold the words).</summary>
    internal static (string Name, string Kind, string Argument)? Route(string path)
    {
        if (path.EndsWith("/tags/list", StringComparison.Ordinal))
        {
            return (path[..^"/tags/list".Length], "tags", "");
        }
        foreach (var kind in new[] { "manifests", "blobs" })
        {
            var at = path.LastIndexOf($"/{kind}/", StringComparison.Ordinal);
            if (at > 0)
            {
                var argument = path[(at + kind.Length + 2)..];
                if (argument.Length > 0 && !argument.Contains('/', StringComparison.Ordinal))
                {
                    return (path[..at], kind, argument);
                }
            }
        }
        return null;
    }

    private async Task ManifestAsync(HttpContext context, DurableTaskClient durable, OciRepository repository, string reference)
    {
        var ct = context.RequestAborted;
        var byDigest = reference.StartsWith("sha256:", StringComparison.Ordinal) || reference.Contains(':', StringComparison.Ordinal);
        if (byDigest ? !OciManifest.IsSha256Digest(reference) : !TagPattern().IsMatch(reference))
        {
            await OciErrors.WriteAsync(context, StatusCodes.Status400BadRequest, byDigest ? OciErrors.DigestInvalid : OciErrors.ManifestInvalid,
                byDigest ? $"'{reference}' is not a sha256 digest (the only algorithm Gatehouse verifies)" : $"'{reference}' is not a valid tag");
            return;
        }
        var resolved = await ResolveAsync(repository, reference, byDigest, ct);
        if (resolved.Manifest is not { } manifest)
        {
            await OciErrors.WriteAsync(context, resolved.Status, resolved.Code!, resolved.Message!);
            return;
        }
        var accept = context.Request.Headers.Accept.ToString();
        if (accept.Length > 0 && !accept.Contains(manifest.MediaType, StringComparison.OrdinalIgnoreCase) && !accept.Contains("*/*", StringComparison.Ordinal))
        {
            await OciErrors.WriteAsync(context, StatusCodes.Status404NotFound, OciErrors.ManifestUnknown,
                $"{repository.Name}:{reference} is a {manifest.MediaType}, which the client did not accept ({accept})");
            return;
        }
        if (!manifest.IsIndex)
        {
            // An index only lists per-platform manifests: each platform is judged when its own manifest is pulled.
            var image = OciRemote.ImageReference(repository, manifest.Digest, resolved.Body!.LongLength, byDigest ? null : reference);
            if (!await AllowedAsync(context, durable, repository, manifest, image, resolved.Body))
            {
                return;
            }
        }
        context.Response.ContentType = manifest.MediaType;
        context.Response.ContentLength = resolved.Body!.LongLength;
        context.Response.Headers[DigestHeader] = manifest.Digest;
        context.Response.Headers.ETag = $"\"{manifest.Digest}\"";
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(resolved.Body, ct);
        }
    }

    /// <summary>The image's decision, waiting for its scan; writes the refusal itself and returns false when it is not allowed.</summary>
    private async Task<bool> AllowedAsync(HttpContext context, DurableTaskClient durable, OciRepository repository, OciManifest manifest, ArtifactReference image, byte[] body)
    {
        var ct = context.RequestAborted;
        var stored = await references.GetAsync(image.Key, ct);
        if (stored?.Reference.Sha256 != image.Sha256)
        {
            await references.RecordAsync(image, ct);
        }
        else
        {
            // The first name it was recorded under stays its subject.
            image = stored.Reference;
        }
        if (await facts.GetAsync(image.Sha256, ct) is not { IsCurrent: true })
        {
            // The manifest is in hand and verified: its scan need not fetch it again. A burst of pulls stages it once.
            await _staging.RunAsync(image.Sha256, () => fetcher.StageAsync(image, body, CancellationToken.None)).WaitAsync(ct);
        }
        var result = await gate.GetAsync(image, TimeSpan.FromSeconds(_options.ManifestWaitSeconds), ScanSource.Request, durable, ct);
        switch (result.Status)
        {
            case GateStatus.Allowed:
                HttpResponses.AddWarnings(context, result.Decision!.Warnings);
                await links.AllowAsync(repository, manifest, ct);
                return true;
            case GateStatus.Refused:
                var decision = result.Decision!;
                log.LogWarning("Refused image {Subject} ({Digest}): {Decision} by rule {Rule}", image.Subject, manifest.Digest, decision.Decision, decision.Rule);
                await OciErrors.WriteAsync(context, StatusCodes.Status403Forbidden, OciErrors.Denied, Refusal(decision.Rule, decision.Reason),
                    new { digest = manifest.Digest, decision = decision.Decision.ToString(), rule = decision.Rule, policyRule = decision.PolicyRule });
                return false;
            case GateStatus.Pending:
                context.Response.Headers.RetryAfter = result.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                await OciErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, OciErrors.Unknown,
                    $"{image.Subject} is being scanned by Gatehouse ({result.Message}); pull again shortly");
                return false;
            case GateStatus.DigestMismatch:
                await OciErrors.WriteAsync(context, StatusCodes.Status502BadGateway, OciErrors.DigestInvalid, $"Gatehouse refused {image.Subject}: {result.Message}");
                return false;
            default:
                await OciErrors.WriteAsync(context, StatusCodes.Status502BadGateway, OciErrors.Unknown, $"Gatehouse could not fetch {image.Subject}: {result.Message}");
                return false;
        }
    }

    /// <summary>"Blocked by Gatehouse: &lt;rule&gt;: &lt;reason&gt;", what podman and skopeo print after "denied:".</summary>
    internal static string Refusal(string rule, string reason)
    {
        const string prefix = "Blocked by Gatehouse: ";
        return prefix + rule + ": " + (reason.StartsWith(prefix, StringComparison.Ordinal) ? reason[prefix.Length..] : reason);
    }

    private sealed record Resolution(OciManifest? Manifest, byte[]? Body, int Status, string? Code, string? Message)
    {
        public static Resolution Failed(int status, string code, string message) => new(null, null, status, code, message);
    }

    /// <summary>
    /// The manifest a tag or digest names: by digest from Gatehouse's copy when it has one, else from the registry,
    /// verified (the bytes' sha256 against the digest asked for, or against the registry's Docker-Content-Digest for a
    /// tag), capped, and parsed before anything is kept.
    /// </summary>
    private async Task<Resolution> ResolveAsync(OciRepository repository, string reference, bool byDigest, CancellationToken ct)
    {
        var digest = byDigest ? reference : cache.TryGetValue(("oci-tag", repository.Canonical, reference), out string? known) ? known : null;
        if (digest is not null && await KeptAsync(digest, ct) is { } kept)
        {
            return Parsed(kept, null, repository, reference) is { } parsed ? new Resolution(parsed, kept, 200, null, null)
                : Resolution.Failed(StatusCodes.Status502BadGateway, OciErrors.ManifestInvalid, $"Gatehouse's copy of {digest} cannot be read");
        }
        var fetched = await upstream.GetManifestAsync(repository, reference, ct);
        if (fetched.Status == StatusCodes.Status404NotFound)
        {
            return Resolution.Failed(StatusCodes.Status404NotFound, OciErrors.ManifestUnknown, $"{repository.Name}:{reference} is not known upstream");
        }
        if (fetched.Body is not { } body)
        {
            log.LogWarning("Manifest {Repository}:{Reference} from upstream failed: {Problem}", repository.Name, reference, fetched.Failure ?? fetched.Status.ToString(CultureInfo.InvariantCulture));
            return Resolution.Failed(StatusCodes.Status502BadGateway, OciErrors.Unknown, $"Gatehouse could not fetch {repository.Name}:{reference}: {fetched.Failure ?? $"the registry answered {fetched.Status}"}");
        }
        if (body.LongLength > _options.MaxManifestBytes)
        {
            return Resolution.Failed(StatusCodes.Status502BadGateway, OciErrors.ManifestInvalid,
                $"Gatehouse refused {repository.Name}:{reference}: the manifest is {body.LongLength:N0} bytes, more than {_options.MaxManifestBytes:N0}");
        }
        var actual = OciManifest.DigestOf(body);
        var promised = byDigest ? reference : fetched.DigestHeader;
        if (promised is not null && promised != actual)
        {
            log.LogError("Manifest {Repository}:{Reference} does not match its digest {Promised} (got {Actual}; rule {Rule})", repository.Name, reference, promised, actual,
                ContentFetcher.DigestMismatchRule);
            return Resolution.Failed(StatusCodes.Status502BadGateway, OciErrors.DigestInvalid,
                $"Gatehouse refused {repository.Name}:{reference}: the registry's manifest does not match its digest {promised}");
        }
        if (Parsed(body, fetched.MediaType, repository, reference) is not { } manifest)
        {
            return Resolution.Failed(StatusCodes.Status502BadGateway, OciErrors.ManifestInvalid,
                $"Gatehouse refused {repository.Name}:{reference}: the registry's manifest cannot be read");
        }
        await KeepAsync(actual, body, ct);
        if (!byDigest)
        {
            cache.Set(("oci-tag", repository.Canonical, reference), actual, TimeSpan.FromSeconds(_options.TagTtlSeconds));
        }
        return new Resolution(manifest, body, 200, null, null);
    }

    private OciManifest? Parsed(byte[] body, string? contentType, OciRepository repository, string reference)
    {
        try
        {
            return OciManifest.Parse(body, contentType);
        }
        catch (OciManifestException e)
        {
            log.LogError("Manifest {Repository}:{Reference} refused: {Problem} (rule {Rule})", repository.Name, reference, e.Message, "oci.manifest-invalid");
            return null;
        }
    }

    private Azure.Storage.Blobs.BlobClient ManifestCopy(string digest) =>
        storage.Container(GatehouseStorage.UpstreamCacheContainer).GetBlobClient($"oci/manifests/{digest["sha256:".Length..]}");

    /// <summary>A manifest kept by digest; kept bytes were verified when written, and a digest never changes.</summary>
    private async Task<byte[]?> KeptAsync(string digest, CancellationToken ct)
    {
        try
        {
            var bytes = (await ManifestCopy(digest).DownloadContentAsync(ct)).Value.Content.ToArray();
            return OciManifest.DigestOf(bytes) == digest ? bytes : null;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    private async Task KeepAsync(string digest, byte[] body, CancellationToken ct)
    {
        try
        {
            await ManifestCopy(digest).UploadAsync(BinaryData.FromBytes(body), overwrite: false, ct);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            // Another request kept the same bytes first.
        }
    }

    private async Task BlobAsync(HttpContext context, OciRepository repository, string digest)
    {
        var ct = context.RequestAborted;
        if (!OciManifest.IsSha256Digest(digest))
        {
            await OciErrors.WriteAsync(context, StatusCodes.Status400BadRequest, OciErrors.DigestInvalid, $"'{digest}' is not a sha256 digest");
            return;
        }
        if (await links.ImageOfAsync(repository, digest, ct) is not { } imageDigest)
        {
            await OciErrors.WriteAsync(context, StatusCodes.Status404NotFound, OciErrors.BlobUnknown,
                $"{digest} is not part of an image Gatehouse allowed in {repository.Name}; pull the image's manifest first");
            return;
        }
        var image = await references.GetAsync(new ReferenceKey(OciRemote.Partition(repository), imageDigest), ct);
        if (image?.Decision is { IsAllowed: false } refused)
        {
            await OciErrors.WriteAsync(context, StatusCodes.Status403Forbidden, OciErrors.Denied, Refusal(refused.Rule, refused.Reason));
            return;
        }
        var sha256 = digest["sha256:".Length..];
        var gone = $"{digest} is not held by Gatehouse any more; pull the image again";
        var blob = content.Blob(GatehouseStorage.ArtifactsContainer, sha256);
        long size;
        DateTimeOffset modified;
        try
        {
            var properties = (await blob.GetPropertiesAsync(cancellationToken: ct)).Value;
            (size, modified) = (properties.ContentLength, properties.LastModified);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            await OciErrors.WriteAsync(context, StatusCodes.Status404NotFound, OciErrors.BlobUnknown, gone);
            return;
        }
        context.Response.Headers[DigestHeader] = digest;
        if (!await blobs.ServeAsync(context, blob, sha256, size, modified, "application/octet-stream", entityTag: digest))
        {
            await OciErrors.WriteAsync(context, StatusCodes.Status404NotFound, OciErrors.BlobUnknown, gone);
            return;
        }
        var reference = OciRemote.BlobReference(repository, new OciDescriptor("", digest, size));
        await downloads.ServedAsync(context, reference, size);
    }

    private async Task TagsAsync(HttpContext context, OciRepository repository)
    {
        var query = context.Request.Query;
        int? n = null;
        if (query.TryGetValue("n", out var text))
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value is < 1 or > 10_000)
            {
                await OciErrors.WriteAsync(context, StatusCodes.Status400BadRequest, OciErrors.Unsupported, "n must be a number from 1 to 10000");
                return;
            }
            n = value;
        }
        var last = query.TryGetValue("last", out var after) ? after.ToString() : null as string;
        if (last is not null && !TagPattern().IsMatch(last))
        {
            await OciErrors.WriteAsync(context, StatusCodes.Status400BadRequest, OciErrors.Unsupported, "last must be a tag");
            return;
        }
        var page = await upstream.GetTagsAsync(repository, n, last, context.RequestAborted);
        if (page.Status == StatusCodes.Status404NotFound)
        {
            await OciErrors.WriteAsync(context, StatusCodes.Status404NotFound, OciErrors.NameUnknown, $"{repository.Name} is not known upstream");
            return;
        }
        if (page.Failure is not null || page.Status != StatusCodes.Status200OK)
        {
            await OciErrors.WriteAsync(context, StatusCodes.Status502BadGateway, OciErrors.Unknown, $"Gatehouse could not list the tags of {repository.Name}: {page.Failure ?? page.Status.ToString(CultureInfo.InvariantCulture)}");
            return;
        }
        if (page.NextLast is { } next)
        {
            var size = n is { } limit ? $"n={limit}&" : "";
            context.Response.Headers.Link = $"</v2/{repository.Name}/tags/list?{size}last={Uri.EscapeDataString(next)}>; rel=\"next\"";
        }
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new { name = repository.Name, tags = page.Tags }, cancellationToken: context.RequestAborted);
    }

    /// <summary>A tag per the distribution spec: <c>[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}</c>.</summary>
    [GeneratedRegex("^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex TagPattern();
}
