using Gatehouse.Audit;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Pipeline;

/// <summary>
/// The fetch-and-stage half of the pipeline: brings a content into <c>staging</c> from its remote's upstream, hashing
/// while it streams, and commits it only when the sha256 (and the size, when promised) match. A content Gatehouse
/// already holds is not fetched again. Runs inside the content's orchestration, so one content is fetched once.
/// </summary>
public sealed class ContentFetcher(IContentStaging staging, RemoteRegistry remotes, IAuditLog audit, TimeProvider time, ILogger<ContentFetcher> log)
{
    public const string DigestMismatchRule = "fetch.digest-mismatch";

    /// <summary>The largest file fetched when the upstream did not promise a size: the scanner's own limit.</summary>
    public const long MaxUnpromisedBytes = 64L * 1024 * 1024 * 1024;

    /// <summary>
    /// The cap for a file's body: none beyond the promised size, which <see cref="StagingWriter"/> enforces itself (so a
    /// longer body is a digest mismatch, audited), else <see cref="MaxUnpromisedBytes"/>.
    /// </summary>
    public static long BodyCap(long promisedSize) => promisedSize > 0 ? long.MaxValue : MaxUnpromisedBytes;

    /// <param name="verified">Told as soon as the body matched its digest, before the staged blob is committed (see <see cref="IContentStaging"/>).</param>
    public async Task<FetchOutcome> FetchAsync(ArtifactReference reference, CancellationToken cancellationToken, Action? verified = null)
    {
        if (await staging.HoldsAsync(reference.Sha256, cancellationToken))
        {
            return FetchOutcome.Present();
        }
        var started = time.GetTimestamp();
        var url = new Uri(reference.UpstreamUrl);
        using var response = await remotes[reference.Remote].OpenAsync(url, reference.Size, cancellationToken);
        if (response.Failure is { } failure)
        {
            log.LogWarning("Upstream fetch of {FileName} ({Sha256}) failed: {Problem}", reference.FileName, reference.Sha256, failure.Message);
            return FetchOutcome.Failed(FetchProblem.Upstream, $"{failure.Message} for {reference.FileName}");
        }
        if (!response.IsSuccess)
        {
            log.LogWarning("Upstream fetch of {FileName} ({Sha256}) answered {UpstreamStatus}", reference.FileName, reference.Sha256, response.Status);
            return FetchOutcome.Failed(FetchProblem.Upstream, $"Upstream {url.Authority} answered {response.Status} for {reference.FileName}");
        }
        StagingOutcome outcome;
        try
        {
            await using var body = await response.OpenBodyAsync(cancellationToken);
            outcome = await staging.WriteVerifiedAsync(body, reference.Sha256, reference.Size > 0 ? reference.Size : null, cancellationToken, verified);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            // StagingWriter committed nothing: the next attempt starts over.
            var problem = response.BodyFailure(e);
            log.LogWarning("Upstream fetch of {FileName} ({Sha256}) broke off: {Problem}", reference.FileName, reference.Sha256, problem.Message);
            return FetchOutcome.Failed(FetchProblem.Upstream, $"{problem.Message} for {reference.FileName}");
        }
        return await ConcludeAsync(reference, outcome, started, cancellationToken);
    }

    /// <summary>Stages a content the remote already holds in memory (a small file it had to read to learn its sha256).</summary>
    public async Task<FetchOutcome> StageAsync(ArtifactReference reference, byte[] bytes, CancellationToken cancellationToken)
    {
        if (await staging.HoldsAsync(reference.Sha256, cancellationToken))
        {
            return FetchOutcome.Present();
        }
        var started = time.GetTimestamp();
        using var body = new MemoryStream(bytes, writable: false);
        var outcome = await staging.WriteVerifiedAsync(body, reference.Sha256, bytes.LongLength, cancellationToken);
        return await ConcludeAsync(reference, outcome, started, cancellationToken);
    }

    private async Task<FetchOutcome> ConcludeAsync(ArtifactReference reference, StagingOutcome outcome, long started, CancellationToken cancellationToken)
    {
        if (!outcome.IsVerified)
        {
            log.LogError("Refused {FileName} from upstream: {Problem} (rule {Rule})", reference.FileName, outcome.Problem, DigestMismatchRule);
            await audit.WriteAsync(new AuditEntry("refuse", $"{reference.Remote} {reference.Subject} {reference.FileName}", $"{DigestMismatchRule}: {outcome.Problem}")
            {
                Artifact = AuditArtifacts.Of(reference),
            }, cancellationToken);
            return FetchOutcome.Failed(FetchProblem.DigestMismatch, $"Upstream content of {reference.FileName} does not match the digest it was promised with");
        }
        var fetchMs = time.GetElapsedTime(started).TotalMilliseconds;
        log.LogInformation("Fetched {FileName} ({Size} bytes) into staging as {Sha256} in {FetchMs} ms (transfer, sha256 and staging in one pass)",
            reference.FileName, outcome.Size, reference.Sha256, fetchMs);
        return FetchOutcome.Fetched(fetchMs);
    }
}
