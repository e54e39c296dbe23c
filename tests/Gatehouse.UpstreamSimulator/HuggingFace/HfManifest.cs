using System.Text.Json.Nodes;

namespace Gatehouse.UpstreamSimulator.HuggingFace;

/// <summary>LFS pointer facts of one file: <c>oid</c> is the sha256 of the bytes.</summary>
public sealed record HfLfs(string Oid, long Size, long PointerSize);

/// <summary>
/// One file at one commit. <see cref="Oid"/> is what the Hub's tree reports (git blob sha1 of the bytes, or of
/// the LFS pointer for LFS files); <see cref="Sha1"/> is the git blob sha1 of the real bytes, except for synthetic
/// LFS files, which are never hashed with sha1: there it is the pointer's sha1 (<see cref="Oid"/>), a key for
/// tampering only. <see cref="Synthetic"/> generates the bytes of a synthetic file (null: a fixture object), and
/// <see cref="BytesPerSecond"/> paces its body (null: as fast as it can be read).
/// </summary>
public sealed record HfFile(
    string Path, long Size, string Oid, string Sha1, HfLfs? Lfs, string? XetHash, HfSyntheticContent? Synthetic = null, long? BytesPerSecond = null)
{
    public bool IsLfs => Lfs is not null;
}

public sealed record HfCommit(string Id, string Title, string Date, IReadOnlyList<HfFile> Files)
{
    public HfFile? Find(string path) => Files.FirstOrDefault(f => f.Path == path);
}

/// <summary>A model or dataset repository from <c>tests/fixtures/hf/repos.json</c>.</summary>
public sealed record HfRepo(
    string Type,
    string Id,
    JsonObject CardData,
    IReadOnlyList<string> Tags,
    string CreatedAt,
    IReadOnlyDictionary<string, string> Branches,
    IReadOnlyDictionary<string, string> RefTags,
    IReadOnlyDictionary<string, string> Pulls,
    IReadOnlyList<HfCommit> Commits)
{
    /// <summary>"models" or "datasets", as in <c>/api/{kind}/…</c>.</summary>
    public string Kind => Type + "s";

    public string Key => MakeKey(Kind, Id);

    public HfCommit? FindCommit(string id) => Commits.FirstOrDefault(c => c.Id == id);

    public static string MakeKey(string kind, string id) => kind + "/" + id;
}

/// <summary>The parsed manifest plus every object's bytes (the fixtures are tiny; kept in memory).</summary>
public sealed class HfManifest
{
    private HfManifest(IReadOnlyDictionary<string, HfRepo> repos, IReadOnlyDictionary<string, byte[]> objects)
    {
        Repos = repos;
        Objects = objects;
        BySha256 = repos.Values
            .SelectMany(r => r.Commits).SelectMany(c => c.Files)
            .Where(f => f.Lfs is not null)
            .GroupBy(f => f.Lfs!.Oid)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
    }

    public static HfManifest Empty { get; } = new(new Dictionary<string, HfRepo>(), new Dictionary<string, byte[]>());

    /// <summary>Repos keyed by <c>models/ns/name</c> or <c>datasets/ns/name</c>.</summary>
    public IReadOnlyDictionary<string, HfRepo> Repos { get; }

    /// <summary>File bytes keyed by git blob sha1.</summary>
    public IReadOnlyDictionary<string, byte[]> Objects { get; }

    /// <summary>LFS files keyed by sha256 (what the CDN path serves).</summary>
    public IReadOnlyDictionary<string, HfFile> BySha256 { get; }

    public HfRepo? Find(string kind, string id) => Repos.GetValueOrDefault(HfRepo.MakeKey(kind, id));

    /// <summary>Loads <c>repos.json</c> and <c>objects/</c>; a folder without <c>repos.json</c> gives no repos.</summary>
    public static HfManifest Load(string folder)
    {
        var manifestPath = System.IO.Path.Combine(folder, "repos.json");
        if (!File.Exists(manifestPath))
        {
            return Empty;
        }

        var root = JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
        var repos = new Dictionary<string, HfRepo>(StringComparer.Ordinal);
        var objects = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var node in root["repos"]!.AsArray())
        {
            var r = node!.AsObject();
            var refs = r["refs"]!.AsObject();
            var commits = new List<HfCommit>();
            foreach (var c in r["commits"]!.AsArray())
            {
                var files = new List<HfFile>();
                foreach (var f in c!["files"]!.AsArray())
                {
                    var lfs = f!["lfs"] is JsonObject l
                        ? new HfLfs(l["oid"]!.GetValue<string>(), l["size"]!.GetValue<long>(), l["pointerSize"]!.GetValue<long>())
                        : null;
                    var file = new HfFile(
                        f["path"]!.GetValue<string>(), f["size"]!.GetValue<long>(), f["oid"]!.GetValue<string>(),
                        f["sha1"]!.GetValue<string>(), lfs, f["xetHash"]?.GetValue<string>());
                    if (!objects.ContainsKey(file.Sha1))
                    {
                        var bytes = File.ReadAllBytes(System.IO.Path.Combine(folder, "objects", file.Sha1));
                        if (bytes.LongLength != file.Size)
                        {
                            throw new InvalidDataException($"HF fixture object {file.Sha1} ({file.Path}) has {bytes.Length} bytes, manifest says {file.Size}.");
                        }

                        objects[file.Sha1] = bytes;
                    }

                    files.Add(file);
                }

                commits.Add(new HfCommit(c["id"]!.GetValue<string>(), c["title"]!.GetValue<string>(), c["date"]!.GetValue<string>(), files));
            }

            var repo = new HfRepo(
                r["type"]!.GetValue<string>(),
                r["id"]!.GetValue<string>(),
                r["cardData"]?.DeepClone().AsObject() ?? [],
                r["tags"]?.AsArray().Select(t => t!.GetValue<string>()).ToList() ?? [],
                r["createdAt"]?.GetValue<string>() ?? "2026-01-01T00:00:00.000Z",
                ToMap(refs["branches"]), ToMap(refs["tags"]), ToMap(refs["pulls"]),
                commits);
            repos[repo.Key] = repo;
        }

        return new HfManifest(repos, objects);
    }

    private static Dictionary<string, string> ToMap(JsonNode? node) =>
        node is JsonObject o
            ? o.ToDictionary(p => p.Key, p => p.Value!.GetValue<string>(), StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
}
