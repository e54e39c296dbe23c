using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Gatehouse.TestHelpers;

namespace Gatehouse.UpstreamSimulator.HuggingFace;

/// <summary>The body of <c>POST /_sim/hf/synthetic</c>: a repo (<c>ns/name</c>), its type and the files of its new commit.</summary>
public sealed record HfSyntheticRequest(string? Repo, string? Type, IReadOnlyList<HfSyntheticFileRequest>? Files);

/// <summary>
/// One synthetic file: where it lives, how its bytes are generated (<see cref="HfSyntheticContent"/>), and optionally
/// how fast its body is served (bytes per second), to make an upstream slow to fetch.
/// </summary>
public sealed record HfSyntheticFileRequest(string? Path, long? Size, string? Kind, ulong? Seed, long? BytesPerSecond = null, string? Content = null);

/// <summary>What was registered. <c>HashMs</c> is the time spent generating and hashing (0 when the digests were known).</summary>
public sealed record HfSyntheticResult(string Repo, string Type, string Commit, bool Reused, double HashMs, IReadOnlyList<HfSyntheticFileResult> Files);

/// <summary>One registered file: its digests as the Hub advertises them (<c>GitSha1</c> only for regular, non-LFS files).</summary>
public sealed record HfSyntheticFileResult(
    string Path, string Kind, long Size, ulong Seed, bool Lfs, string Sha256, string? GitSha1, string Oid, double HashMs, long? BytesPerSecond);

/// <summary>
/// Repos added at run time, each commit's files generated on the fly by <see cref="HfSyntheticContent"/>. Registration
/// streams every new content once to learn its sha256 (and, for regular files, its git sha1), so the Hub's metadata
/// is exact; digests are remembered per (kind, size, seed). Files of 1 KiB or more, or with a model extension, are LFS,
/// as in the fixtures. Registering again adds a commit and moves <c>main</c> to it, unless the files are the same as
/// at <c>main</c> already.
/// </summary>
public sealed partial class HfSyntheticRepos(HfManifest manifest, TimeProvider timeProvider)
{
    public const int MaxFiles = 10_000;
    public const long LfsMinSize = 1024;

    /// <summary>As scripts/fixtures/make_hf_fixtures.py: names the Hub stores in LFS whatever their size.</summary>
    private static readonly string[] LfsExtensions =
        [".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".h5", ".onnx", ".gguf", ".msgpack", ".npz"];

    private readonly ConcurrentDictionary<string, HfRepo> _repos = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HfFile> _bySha256 = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Kind, long Size, ulong Seed), (string Sha256, string? GitSha1)> _digests = new();
    private readonly Lock _commits = new();

    public IEnumerable<HfRepo> All => _repos.Values;

    public HfRepo? Find(string key) => _repos.GetValueOrDefault(key);

    public HfFile? FindLfs(string sha256) => _bySha256.GetValueOrDefault(sha256);

    /// <summary>Validates, hashes and publishes; ArgumentException for a bad request, InvalidOperationException for a fixture's name.</summary>
    public async Task<HfSyntheticResult> AddAsync(HfSyntheticRequest request, CancellationToken cancellationToken)
    {
        var (type, id, specs) = Validate(request);
        var kind = type + "s";
        if (manifest.Find(kind, id) is not null)
        {
            throw new InvalidOperationException($"'{id}' is a fixture {type}; synthetic repos must use another name.");
        }

        var key = HfRepo.MakeKey(kind, id);
        if (Find(key) is { } existing && SameFiles(existing.FindCommit(existing.Branches["main"])!, specs))
        {
            return Describe(existing, existing.FindCommit(existing.Branches["main"])!, reused: true, [], 0);
        }

        var started = Stopwatch.GetTimestamp();
        var files = new List<HfFile>();
        var hashMs = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (path, content, bytesPerSecond) in specs)
        {
            var fileStarted = Stopwatch.GetTimestamp();
            var lfs = content.Size >= LfsMinSize || LfsExtensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));
            var spec = (content.Kind, content.Size, content.Seed);
            if (!_digests.TryGetValue(spec, out var digests) || (!lfs && digests.GitSha1 is null))
            {
                digests = await Task.Run(() => Hash(content, gitSha1: !lfs, cancellationToken), cancellationToken);
                _digests[spec] = digests;
                hashMs[path] = Stopwatch.GetElapsedTime(fileStarted).TotalMilliseconds;
            }

            files.Add(lfs
                ? LfsFile(path, content, digests.Sha256, bytesPerSecond)
                : new HfFile(path, content.Size, digests.GitSha1!, digests.GitSha1!, null, null, content, bytesPerSecond));
        }

        var totalMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var now = timeProvider.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        lock (_commits)
        {
            var previous = Find(key);
            var parent = previous?.Branches["main"];
            var commit = new HfCommit(CommitId(key, parent, files), $"Synthetic: {files.Count} files", now, files);
            var repo = new HfRepo(
                type, id, [], ["gatehouse-synthetic"], previous?.CreatedAt ?? now,
                new Dictionary<string, string>(StringComparer.Ordinal) { ["main"] = commit.Id },
                new Dictionary<string, string>(StringComparer.Ordinal),
                new Dictionary<string, string>(StringComparer.Ordinal),
                [.. previous?.Commits ?? [], commit]);
            foreach (var file in files.Where(f => f.Lfs is not null))
            {
                _bySha256[file.Lfs!.Oid] = file;
            }

            _repos[key] = repo;
            return Describe(repo, commit, reused: false, hashMs, totalMs);
        }
    }

    private static (string Type, string Id, List<(string Path, HfSyntheticContent Content, long? BytesPerSecond)> Files) Validate(HfSyntheticRequest request)
    {
        var type = request.Type ?? "model";
        if (type is not ("model" or "dataset"))
        {
            throw new ArgumentException($"type must be 'model' or 'dataset', not '{type}'.");
        }

        if (request.Repo is not { } id || !RepoId().IsMatch(id))
        {
            throw new ArgumentException("repo must be 'namespace/name' (letters, digits, '.', '_', '-').");
        }

        if (request.Files is not { Count: > 0 and <= MaxFiles } files)
        {
            throw new ArgumentException($"files must list 1 to {MaxFiles} files.");
        }

        var specs = new List<(string, HfSyntheticContent, long?)>();
        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            if (file?.Path is not { } path || path.Length > 1000 || !FilePath().IsMatch(path)
                || path.Split('/').Any(segment => segment is "." or ".."))
            {
                throw new ArgumentException($"'{file?.Path}' is not a valid file path (segments of letters, digits, '.', '_', '-' joined by '/').");
            }

            if (!paths.Add(path))
            {
                throw new ArgumentException($"'{path}' is listed twice.");
            }

            if (file.BytesPerSecond is <= 0)
            {
                throw new ArgumentException($"'{path}': bytesPerSecond must be positive.");
            }

            if (file.Kind == HfSyntheticContent.Bytes)
            {
                byte[] bytes;
                try
                {
                    bytes = Convert.FromBase64String(file.Content ?? throw new ArgumentException($"'{path}': a bytes file needs its content (base64)."));
                }
                catch (FormatException)
                {
                    throw new ArgumentException($"'{path}': content is not base64.");
                }
                specs.Add((path, HfSyntheticContent.FromBytes(bytes), file.BytesPerSecond));
                continue;
            }

            if (file.Kind is null || file.Size is null)
            {
                throw new ArgumentException($"'{path}' needs a kind ({string.Join(", ", HfSyntheticContent.Kinds)}) and a size.");
            }

            specs.Add((path, HfSyntheticContent.Create(file.Kind, file.Size.Value, file.Seed ?? 0), file.BytesPerSecond));
        }

        return (type, id, specs);
    }

    private static bool SameFiles(HfCommit head, List<(string Path, HfSyntheticContent Content, long? BytesPerSecond)> specs) =>
        head.Files.Count == specs.Count
        && head.Files.Zip(specs).All(p => p.First.Path == p.Second.Path && p.First.Synthetic is { } s
            && s.Kind == p.Second.Content.Kind && s.Size == p.Second.Content.Size && s.Seed == p.Second.Content.Seed
            && p.First.BytesPerSecond == p.Second.BytesPerSecond);

    /// <summary>Streams the generator once through SHA-256 (and the git blob SHA-1 for regular files), 1 MiB at a time.</summary>
    private static (string Sha256, string? GitSha1) Hash(HfSyntheticContent content, bool gitSha1, CancellationToken cancellationToken)
    {
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var sha1 = gitSha1 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA1) : null;
        sha1?.AppendData(GitBlob.Header(content.Size));
        using var stream = content.Open();
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int read;
            while ((read = stream.Read(buffer, 0, 1 << 20)) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                sha256.AppendData(buffer, 0, read);
                sha1?.AppendData(buffer, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return (Convert.ToHexStringLower(sha256.GetHashAndReset()), sha1 is null ? null : Convert.ToHexStringLower(sha1.GetHashAndReset()));
    }

    /// <summary>An LFS file as the fixtures describe one: tree oid = git sha1 of the pointer, fake xetHash = sha256("xet:" + sha256).</summary>
    private static HfFile LfsFile(string path, HfSyntheticContent content, string sha256, long? bytesPerSecond)
    {
        var pointer = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {content.Size}\n"));
        var oid = GitBlob.Sha1(pointer);
        var xet = Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes("xet:" + sha256)));
        return new HfFile(path, content.Size, oid, oid, new HfLfs(sha256, content.Size, pointer.Length), xet, content, bytesPerSecond);
    }

    /// <summary>A 40-hex id from the repo, the parent commit and the files: new content or a new parent is a new commit.</summary>
    private static string CommitId(string key, string? parent, IEnumerable<HfFile> files)
    {
        var text = new StringBuilder("synthetic\n").Append(key).Append('\n').Append(parent).Append('\n');
        foreach (var file in files)
        {
            text.Append(file.Path).Append(' ').Append(file.Lfs?.Oid ?? file.Sha1).Append('\n');
        }

        return Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private HfSyntheticResult Describe(HfRepo repo, HfCommit commit, bool reused, Dictionary<string, double> hashMs, double totalMs) =>
        new(repo.Id, repo.Type, commit.Id, reused, Math.Round(totalMs, 1), commit.Files.Select(f => new HfSyntheticFileResult(
            f.Path, f.Synthetic!.Kind, f.Size, f.Synthetic.Seed, f.Lfs is not null, f.Lfs?.Oid ?? _digests[(f.Synthetic.Kind, f.Size, f.Synthetic.Seed)].Sha256, f.Lfs is null ? f.Sha1 : null, f.Oid,
            Math.Round(hashMs.GetValueOrDefault(f.Path), 1), f.BytesPerSecond)).ToList());

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")]
    private static partial Regex RepoId();

    [GeneratedRegex("^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")]
    private static partial Regex FilePath();
}
