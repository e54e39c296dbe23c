using System.Globalization;
using Gatehouse.Configuration;
using Gatehouse.Http;
using Gatehouse.Pipeline;
using Gatehouse.Upstream;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.HuggingFace;

/// <summary>
/// <c>HEAD|GET /hf/[datasets/]{repo}/resolve/{rev}/{path}</c>: a HEAD upstream (no redirect followed) pins the revision
/// to <c>X-Repo-Commit</c> and gives the expected digest; <see cref="HfFiles"/> turns the file into a recorded reference
/// (an LFS file knows its sha256 from <c>X-Linked-Etag</c>; a small regular file is read once, checked against its git
/// blob sha1 and staged), and <see cref="ArtifactGate"/> decides it like any other reference. A resolve at a commit
/// seen before asks the Hub nothing. A HEAD of a cold file answers its metadata at once and leaves the fetch and scan
/// running; a GET waits for the decision, in slices for huggingface_hub (<see cref="HubClientWait"/>).
/// </summary>
public sealed class HuggingFaceResolve(
    HuggingFaceUpstream upstream, HfFiles files, ArtifactGate gate, IReferenceStore references, ContentStore content, BlobResponses blobs, Downloads downloads,
    IOptions<GatehouseOptions> options, ILogger<HuggingFaceResolve> logger)
{
    private readonly TimeSpan _slice = TimeSpan.FromSeconds(options.Value.HuggingFace.DownloadWaitSliceSeconds);

    public async Task HandleAsync(HttpContext context, HfRoute route, DurableTaskClient durable)
    {
        var aborted = context.RequestAborted;
        // A commit names fixed content: once seen, its reference answers without asking the Hub again.
        var pinned = HfFileDigests.IsCommit(route.Revision)
            ? await references.GetAsync(new ReferenceKey(HfFileDigests.ReferencePartition(route.RepoType, route.RepoId),
                HfFileDigests.ReferenceRowKey(route.Revision!, route.Path)), aborted)
            : null;
        var spec = pinned is { Reference: var known }
            ? new HfFileSpec(route.RepoType, route.RepoId, route.Revision!, route.Path, known.ClientEtag == known.Sha256 ? known.Sha256 : null, known.Size,
                known.ClientEtag == known.Sha256 ? null : known.ClientEtag)
            : await HeadAsync(context, route);
        if (spec is null)
        {
            return;
        }
        var prepared = await files.PrepareAsync(spec, aborted);
        if (prepared.Reference is not { } reference)
        {
            logger.LogError("Refused {Repo} {Path} at {Commit} from upstream: {Problem}", route.RepoId, route.Path, spec.Commit, prepared.Error);
            await HuggingFaceEndpoint.WriteJsonErrorAsync(context, StatusCodes.Status502BadGateway, null, prepared.Error ?? "The Hugging Face upstream failed");
            return;
        }
        var isLfs = spec.LfsSha256 is not null;
        var head = HttpMethods.IsHead(context.Request.Method);
        var wait = head ? null : HubClientWait.For(context.Request.Headers.UserAgent);
        // A HEAD needs the commit, digest and size, which are known now: it starts the fetch and scan, and does not wait.
        var budget = head ? TimeSpan.Zero : wait is null ? gate.InlineWait : _slice;
        var result = await gate.GetAsync(reference, budget, ScanSource.Request, durable, aborted, new RequestFacts(Pinned: HfFileDigests.IsCommit(route.Revision)));
        context.Response.Headers["X-Repo-Commit"] = spec.Commit;
        switch (result.Status)
        {
            case GateStatus.Allowed:
                var facts = result.Facts!;
                HttpResponses.AddWarnings(context, result.Decision!.Warnings);
                WriteLinkedHeaders(context, isLfs ? reference.Sha256 : null, facts.Size);
                if (!await blobs.ServeAsync(context, content.Blob(facts.Container, facts.Sha256), facts.Sha256, facts.Size, facts.ScannedAt,
                    "application/octet-stream", isLfs ? null : reference.ClientEtag))
                {
                    await gate.ContentMissingAsync(reference.Sha256, aborted);
                    context.Response.Headers.RetryAfter = "1";
                    await HuggingFaceEndpoint.WriteJsonErrorAsync(context, StatusCodes.Status503ServiceUnavailable, null, $"{route.Path} must be fetched and scanned again");
                    break;
                }
                await downloads.ServedAsync(context, reference, facts.Size);
                break;
            case GateStatus.Refused:
                var refused = result.Decision!;
                logger.LogWarning("Refused {Repo} {Path} ({Sha256}): {Decision} by rule {Rule}", route.RepoId, route.Path, reference.Sha256, refused.Decision, refused.Rule);
                await HuggingFaceEndpoint.WriteJsonErrorAsync(context, StatusCodes.Status403Forbidden, "GatedRepo",
                    RefusalMessage(route.Path, refused.Rule, refused.Reason));
                break;
            case GateStatus.Pending when head:
                WriteLinkedHeaders(context, isLfs ? reference.Sha256 : null, reference.Size);
                var response = context.Response;
                response.Headers.ETag = $"\"{(isLfs ? reference.Sha256 : reference.ClientEtag)}\"";
                response.Headers.AcceptRanges = "bytes";
                response.Headers.CacheControl = "private, no-cache";
                response.ContentType = "application/octet-stream";
                response.ContentLength = reference.Size;
                break;
            case GateStatus.Pending when wait is not null && HubClientWait.Hop(context.Request.Query) is var hop && hop < wait.MaxRedirects:
                // Not a refusal and not content: the client comes straight back, with a fresh read timeout.
                context.Response.StatusCode = StatusCodes.Status307TemporaryRedirect;
                context.Response.Headers.Location = HubClientWait.Self(context, HuggingFaceEndpoint.RawPath(context), hop + 1);
                context.Response.Headers.CacheControl = "no-store";
                break;
            case GateStatus.Pending:
                context.Response.Headers.RetryAfter = (wait?.RetryAfterSeconds ?? result.RetryAfterSeconds).ToString(CultureInfo.InvariantCulture);
                await HuggingFaceEndpoint.WriteJsonErrorAsync(context, wait?.FinalStatus ?? StatusCodes.Status503ServiceUnavailable, null,
                    $"{result.Message}: {route.Path} is being scanned by Gatehouse");
                break;
            default:
                await HuggingFaceEndpoint.WriteJsonErrorAsync(context, StatusCodes.Status502BadGateway, null, result.Message ?? "Upstream failed");
                break;
        }
    }

    /// <summary>
    /// <c>X-Linked-Etag</c> (LFS files only) and <c>X-Linked-Size</c>: huggingface_hub takes the size from X-Linked-Size
    /// on a redirect (SAS serving), Content-Length only on a 200.
    /// </summary>
    private static void WriteLinkedHeaders(HttpContext context, string? lfsSha256, long size)
    {
        if (lfsSha256 is not null)
        {
            context.Response.Headers["X-Linked-Etag"] = $"\"{lfsSha256}\"";
        }
        context.Response.Headers["X-Linked-Size"] = size.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The refusal clients show: the rule first, because <c>X-Error-Message</c> (all huggingface_hub shows after a HEAD)
    /// is cut at 300 characters; the policy's reasons end with "(rule)", which is not repeated.
    /// </summary>
    internal static string RefusalMessage(string path, string rule, string reason)
    {
        var suffix = $" ({rule})";
        var text = reason.EndsWith(suffix, StringComparison.Ordinal) ? reason[..^suffix.Length] : reason;
        return $"Gatehouse refused {path} (rule {rule}): {text}";
    }

    /// <summary>
    /// HEAD upstream (no redirect followed): the commit, and the sha256 + size of an LFS file (its 302) or the git sha1 of
    /// a regular one. Null when the answer was already written (an upstream error passed through, or a 502).
    /// </summary>
    private async Task<HfFileSpec?> HeadAsync(HttpContext context, HfRoute route)
    {
        using var head = await upstream.HeadFileAsync(upstream.Url(HfFileDigests.ResolvePath(route.RepoType, route.RepoId, route.Revision!, route.Path)), context.RequestAborted);
        if (head.Failure is { } failure)
        {
            await HuggingFaceEndpoint.WriteJsonErrorAsync(context, StatusCodes.Status502BadGateway, null, failure.Message);
            return null;
        }
        var status = head.Status;
        var commit = HfFileDigests.Sha1(head.Header("X-Repo-Commit"));
        if (status is 401 or 404 or 403)
        {
            await RelayErrorAsync(context, route, head, status, commit);
            return null;
        }
        var isLfs = status is >= 300 and < 400;
        if (!isLfs && status != 200)
        {
            logger.LogWarning("Hugging Face upstream answered {Status} for resolve {Repo} {Path}", status, route.RepoId, route.Path);
            await HuggingFaceEndpoint.WriteJsonErrorAsync(context, StatusCodes.Status502BadGateway, null, $"The Hugging Face upstream answered {status}");
            return null;
        }
        var linkedSha256 = HfFileDigests.Sha256(head.Header("X-Linked-Etag"));
        var linkedSize = long.TryParse(head.Header("X-Linked-Size"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : -1;
        var gitSha1 = HfFileDigests.Sha1(head.Header("ETag"));
        if (commit is null || (isLfs ? linkedSha256 is null || linkedSize < 0 : gitSha1 is null))
        {
            await HuggingFaceEndpoint.WriteJsonErrorAsync(context, StatusCodes.Status502BadGateway, null,
                "The Hugging Face upstream did not send the commit and digest headers Gatehouse verifies against");
            return null;
        }
        return isLfs
            ? new HfFileSpec(route.RepoType, route.RepoId, commit, route.Path, linkedSha256, linkedSize, null)
            : new HfFileSpec(route.RepoType, route.RepoId, commit, route.Path, null, 0, gitSha1);
    }

    private async Task RelayErrorAsync(HttpContext context, HfRoute route, UpstreamResponse head, int status, string? commit)
    {
        var code = head.Header("X-Error-Code");
        if (status == 401 && code != "RepoNotFound")
        {
            logger.LogWarning("Hugging Face upstream refused Gatehouse's credentials for {Repo}", route.RepoId);
            await HuggingFaceEndpoint.WriteJsonErrorAsync(context, StatusCodes.Status502BadGateway, null, "The Hugging Face upstream refused Gatehouse's credentials");
            return;
        }
        if (commit is not null)
        {
            context.Response.Headers["X-Repo-Commit"] = commit;
        }
        var message = head.Header("X-Error-Message") ?? (code == "EntryNotFound" ? $"Entry not found: {route.Path}" : $"The Hugging Face upstream answered {status}");
        await HuggingFaceEndpoint.WriteJsonErrorAsync(context, status == 401 ? StatusCodes.Status404NotFound : status, code, message);
    }
}
