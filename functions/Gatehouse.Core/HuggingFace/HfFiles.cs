using System.Globalization;
using System.Security.Cryptography;
using Gatehouse.Pipeline;

namespace Gatehouse.HuggingFace;

/// <summary>
/// Makes one file of a repository at a commit ready for the pipeline, the same way for a download and for a prefetch:
/// its sha256 (an LFS file's oid; a regular file's bytes, fetched once, checked against its git sha1 and staged), and
/// its recorded reference <c>hf:{repo}</c> / <c>{commit}/{path}</c>. A regular file is read once per process however
/// many ask for it at the same time, and never again once its reference is recorded.
/// </summary>
public sealed class HfFiles(HuggingFaceUpstream upstream, IReferenceStore references, ContentFetcher fetcher, TimeProvider time)
{
    private readonly SingleFlight<ReferenceKey, HfPrepared> _regular = new();

    /// <summary>The file's reference, recorded; or why it could not be prepared (the upstream failed, or its bytes are not what the Hub said).</summary>
    public async Task<HfPrepared> PrepareAsync(HfFileSpec spec, CancellationToken cancellationToken)
    {
        var key = Key(spec);
        var stored = await references.GetAsync(key, cancellationToken);
        if (spec.LfsSha256 is { } sha256)
        {
            return await RecordAsync(Reference(spec, key, sha256, spec.Size, clientEtag: sha256), stored, cancellationToken);
        }
        if (stored is { Reference: var known } && known.ClientEtag == spec.GitSha1)
        {
            return new HfPrepared(known, null);
        }
        // Regular files advertise only their git sha1: the sha256 needs the bytes, read once however many ask.
        return await _regular.RunAsync(key, () => PrepareRegularAsync(spec, key, stored));
    }

    /// <summary>Records <paramref name="spec"/>'s path as one more reference to <paramref name="prepared"/>'s content (the same bytes at another path).</summary>
    public async Task<ArtifactReference> RecordSameContentAsync(ArtifactReference prepared, HfFileSpec spec, CancellationToken cancellationToken)
    {
        var reference = Reference(spec, Key(spec), prepared.Sha256, prepared.Size, prepared.ClientEtag);
        await references.RecordAsync(reference, cancellationToken);
        return reference;
    }

    private static ReferenceKey Key(HfFileSpec spec) =>
        new(HfFileDigests.ReferencePartition(spec.RepoType, spec.RepoId), HfFileDigests.ReferenceRowKey(spec.Commit, spec.Path));

    private async Task<HfPrepared> PrepareRegularAsync(HfFileSpec spec, ReferenceKey key, StoredReference? stored)
    {
        var ct = CancellationToken.None;
        var url = upstream.Url(HfFileDigests.ResolvePath(spec.RepoType, spec.RepoId, spec.Commit, spec.Path));
        var (bytes, error) = await upstream.GetSmallFileAsync(url, spec.GitSha1!, ct);
        if (bytes is null)
        {
            return new HfPrepared(null, error);
        }
        var reference = Reference(spec, key, Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes.LongLength, clientEtag: spec.GitSha1);
        var staged = await fetcher.StageAsync(reference, bytes, ct);
        return staged.Staged ? await RecordAsync(reference, stored, ct) : new HfPrepared(null, staged.Message);
    }

    private async Task<HfPrepared> RecordAsync(ArtifactReference reference, StoredReference? stored, CancellationToken cancellationToken)
    {
        if (stored?.Reference is not { } known || known.Sha256 != reference.Sha256 || known.ClientEtag != reference.ClientEtag)
        {
            await references.RecordAsync(reference, cancellationToken);
            return new HfPrepared(reference, null);
        }
        return new HfPrepared(known, null);
    }

    private ArtifactReference Reference(HfFileSpec spec, ReferenceKey key, string sha256, long size, string? clientEtag) => new(
        HuggingFaceRemote.Hf,
        key,
        HfFileDigests.Subject(spec.RepoType, spec.RepoId, spec.Commit),
        spec.Path[(spec.Path.LastIndexOf('/') + 1)..],
        sha256,
        size,
        upstream.Url(HfFileDigests.ResolvePath(spec.RepoType, spec.RepoId, spec.Commit, spec.Path)).AbsoluteUri,
        time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
        clientEtag);
}

/// <summary>
/// A file as the Hub describes it at a commit: an LFS file by its sha256 and size, a regular file by its git sha1
/// (<paramref name="Size"/> unknown until it is read).
/// </summary>
public sealed record HfFileSpec(string RepoType, string RepoId, string Commit, string Path, string? LfsSha256, long Size, string? GitSha1);

/// <summary>The prepared file's recorded reference, or why there is none.</summary>
public sealed record HfPrepared(ArtifactReference? Reference, string? Error);
