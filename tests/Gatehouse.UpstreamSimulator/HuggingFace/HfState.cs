using System.Collections.Concurrent;

namespace Gatehouse.UpstreamSimulator.HuggingFace;

/// <summary>
/// Mutable side of the Hugging Face simulator: branch heads (movable), tampered blobs, counters, page size,
/// the last <c>Authorization</c> header seen per request path, and the synthetic repos added at run time.
/// <c>/_sim/hf/</c> is a thin skin over this.
/// </summary>
public sealed class HfState
{
    public const int DefaultPageSize = 1000;

    private readonly ConcurrentDictionary<string, string> _branchMoves = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _tampered = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _resolveGets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _resolveHeads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _cdnFetches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _apiCalls = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string?> _authorization = new(StringComparer.Ordinal);
    private int _pageSize = DefaultPageSize;

    public HfState(HfManifest manifest, TimeProvider? timeProvider = null)
    {
        Manifest = manifest;
        Synthetic = new HfSyntheticRepos(manifest, timeProvider ?? TimeProvider.System);
    }

    public HfManifest Manifest { get; }

    /// <summary>Repos made by <c>POST /_sim/hf/synthetic</c>; they survive <see cref="Reset"/>, like synthetic wheels.</summary>
    public HfSyntheticRepos Synthetic { get; }

    /// <summary>Tree entries per page before a <c>Link: rel="next"</c> is sent.</summary>
    public int PageSize
    {
        get => Volatile.Read(ref _pageSize);
        set => Volatile.Write(ref _pageSize, Math.Max(1, value));
    }

    public HfRepo? FindRepo(string kind, string id) => Synthetic.Find(HfRepo.MakeKey(kind, id)) ?? Manifest.Find(kind, id);

    /// <summary>The LFS file the CDN path serves for a sha256, fixture or synthetic.</summary>
    public HfFile? FindLfs(string sha256) => Manifest.BySha256.GetValueOrDefault(sha256) ?? Synthetic.FindLfs(sha256);

    /// <summary>Adds (or replaces) a synthetic repo; its <c>main</c> starts at the new commit, whatever move-branch did before.</summary>
    public async Task<HfSyntheticResult> AddSyntheticAsync(HfSyntheticRequest request, CancellationToken cancellationToken)
    {
        var result = await Synthetic.AddAsync(request, cancellationToken);
        _branchMoves.TryRemove(HfRepo.MakeKey(result.Type + "s", result.Repo) + "@main", out _);
        return result;
    }

    /// <summary>Current commit of a branch (after any move-branch), or null.</summary>
    public string? BranchHead(HfRepo repo, string branch) =>
        _branchMoves.TryGetValue(repo.Key + "@" + branch, out var moved) ? moved : repo.Branches.GetValueOrDefault(branch);

    /// <summary>Branch (<c>main</c> or <c>refs/heads/main</c>), tag, <c>refs/pr/N</c>, or a 40-hex commit of the manifest.</summary>
    public HfCommit? Resolve(HfRepo repo, string revision)
    {
        var id = BranchHead(repo, revision)
            ?? (revision.StartsWith("refs/heads/", StringComparison.Ordinal) ? BranchHead(repo, revision["refs/heads/".Length..]) : null)
            ?? repo.RefTags.GetValueOrDefault(revision)
            ?? (revision.StartsWith("refs/tags/", StringComparison.Ordinal) ? repo.RefTags.GetValueOrDefault(revision["refs/tags/".Length..]) : null)
            ?? repo.Pulls.GetValueOrDefault(revision)
            ?? revision;
        return repo.FindCommit(id);
    }

    /// <summary>Points a branch at another commit of the manifest (the Hub after a push).</summary>
    public bool MoveBranch(HfRepo repo, string branch, string commit)
    {
        if (repo.FindCommit(commit) is null || !(repo.Branches.ContainsKey(branch) || _branchMoves.ContainsKey(repo.Key + "@" + branch)))
        {
            return false;
        }

        _branchMoves[repo.Key + "@" + branch] = commit;
        return true;
    }

    /// <summary>Serve this blob (by git sha1 of its bytes) with its middle byte flipped, everywhere it is served.</summary>
    public void Tamper(HfFile file) => _tampered[file.Sha1] = 0;

    public bool IsTampered(HfFile file) => _tampered.ContainsKey(file.Sha1);

    /// <summary>A fresh seekable stream over a file's real bytes: the fixture object, or the synthetic generator.</summary>
    public Stream OpenContent(HfFile file) =>
        file.Synthetic?.Open() ?? new MemoryStream(Manifest.Objects[file.Sha1], writable: false);

    /// <summary>The offset whose byte is served flipped (the middle byte) when the file is tampered, else -1.</summary>
    public long FlippedByteAt(HfFile file) => IsTampered(file) && file.Size > 0 ? file.Size / 2 : -1;

    public void Reset()
    {
        _branchMoves.Clear();
        _tampered.Clear();
        _resolveGets.Clear();
        _resolveHeads.Clear();
        _cdnFetches.Clear();
        _apiCalls.Clear();
        _authorization.Clear();
        PageSize = DefaultPageSize;
    }

    internal void CountResolve(HfRepo repo, string path, bool head) =>
        (head ? _resolveHeads : _resolveGets).AddOrUpdate(repo.Key + "/" + path, 1, (_, n) => n + 1);

    internal void CountCdnFetch(string sha256) => _cdnFetches.AddOrUpdate(sha256, 1, (_, n) => n + 1);

    internal void CountApi(string what) => _apiCalls.AddOrUpdate(what, 1, (_, n) => n + 1);

    internal void RecordAuthorization(string path, string? authorization) => _authorization[path] = authorization;

    public HfStats GetStats() => new(
        Snapshot(_resolveHeads),
        Snapshot(_resolveGets),
        Snapshot(_cdnFetches),
        Snapshot(_apiCalls),
        new SortedDictionary<string, string>(
            Manifest.Repos.Values.Concat(Synthetic.All).SelectMany(r => r.Branches.Keys.Select(b => (Key: r.Key + "@" + b, Head: BranchHead(r, b)!)))
                .ToDictionary(x => x.Key, x => x.Head),
            StringComparer.Ordinal),
        _tampered.Keys.Order(StringComparer.Ordinal).ToList(),
        PageSize);

    /// <summary>Last <c>Authorization</c> value (null = none sent) per raw request path.</summary>
    public IReadOnlyDictionary<string, string?> GetAuthorizationLog() =>
        new SortedDictionary<string, string?>(_authorization, StringComparer.Ordinal);

    private static IReadOnlyDictionary<string, int> Snapshot(ConcurrentDictionary<string, int> counters) =>
        new SortedDictionary<string, int>(counters, StringComparer.Ordinal);
}

/// <summary>
/// <c>/_sim/hf/stats</c>: resolve HEADs/GETs keyed <c>models/ns/name/path</c> (GET counted when the request
/// arrives), CDN body starts keyed by sha256, API calls keyed by endpoint kind, branch heads
/// (<c>models/ns/name@main</c>), tampered blobs (git sha1 of the real bytes) and the tree page size.
/// </summary>
public sealed record HfStats(
    IReadOnlyDictionary<string, int> ResolveHeads,
    IReadOnlyDictionary<string, int> ResolveGets,
    IReadOnlyDictionary<string, int> CdnFetches,
    IReadOnlyDictionary<string, int> ApiCalls,
    IReadOnlyDictionary<string, string> Branches,
    IReadOnlyList<string> Tampered,
    int PageSize);
