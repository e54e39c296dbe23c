using System.Reflection;
using System.Security.Cryptography;

namespace Gatehouse.WebConsole;

/// <summary>One file of the console: its bytes, media type and entity tag.</summary>
public sealed record ConsoleAsset(string Path, byte[] Content, string ContentType, string ETag);

/// <summary>
/// The console's files, embedded in Gatehouse.Core (<c>Console/wwwroot/**</c>) and read once: nothing is loaded from a
/// CDN or the disk, so the console works air-gapped and both hosts serve the same bytes.
/// </summary>
public sealed class ConsoleAssets
{
    /// <summary>The page every console path that is not a file answers with: the app routes on the client.</summary>
    public const string IndexPath = "index.html";

    private const string ResourcePrefix = "console/";

    private static readonly Dictionary<string, string> MediaTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".mjs"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
        [".ico"] = "image/x-icon",
        [".json"] = "application/json; charset=utf-8",
        [".txt"] = "text/plain; charset=utf-8",
        [".woff2"] = "font/woff2",
    };

    private readonly Dictionary<string, ConsoleAsset> _assets;

    public ConsoleAssets()
        : this(typeof(ConsoleAssets).Assembly)
    {
    }

    internal ConsoleAssets(Assembly assembly)
    {
        _assets = new Dictionary<string, ConsoleAsset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            // %(RecursiveDir) carries the build machine's separator.
            var path = name[ResourcePrefix.Length..].Replace('\\', '/');
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var content = copy.ToArray();
            var type = MediaTypes.GetValueOrDefault(System.IO.Path.GetExtension(path), "application/octet-stream");
            _assets[path] = new ConsoleAsset(path, content, type, $"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..32]}\"");
        }
    }

    /// <summary>Every embedded path, for tests.</summary>
    public IReadOnlyCollection<string> Paths => _assets.Keys;

    /// <summary>
    /// The file a console path names: the file itself, or the app's page for a page path (one whose last segment has no
    /// extension); null for a file that does not exist. Only embedded names match, so no path reaches the disk.
    /// </summary>
    public ConsoleAsset? Find(string? path)
    {
        var relative = (path ?? "").Trim('/');
        if (relative.Length == 0)
        {
            return _assets.GetValueOrDefault(IndexPath);
        }
        if (_assets.TryGetValue(relative, out var asset))
        {
            return asset;
        }
        var last = relative[(relative.LastIndexOf('/') + 1)..];
        return last.Contains('.', StringComparison.Ordinal) ? null : _assets.GetValueOrDefault(IndexPath);
    }
}
