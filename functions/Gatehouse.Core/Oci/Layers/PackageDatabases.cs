using System.Text;

namespace Gatehouse.Oci.Layers;

/// <summary>
/// The files of an image that record what is installed: Python distributions' metadata, dpkg's status database, apk's
/// installed database and os-release. Each reader takes the file's bytes (bounded by the caller) and never throws on
/// content: a paragraph without the fields it needs is skipped.
/// </summary>
public static class PackageDatabases
{
    /// <summary>The largest package database read (Debian's status with every package of a full desktop is a few MiB).</summary>
    public const int MaxDatabaseBytes = 64 * 1024 * 1024;

    /// <summary>The most packages one database may list; past it the layer fails closed rather than judge a part of it.</summary>
    public const int MaxPackages = 100_000;

    /// <summary>Bytes of a METADATA or PKG-INFO file read for its headers (the description after them can be long).</summary>
    public const int MaxMetadataHeaderBytes = 1024 * 1024;

    /// <summary>The largest os-release file read.</summary>
    public const int MaxOsReleaseBytes = 64 * 1024;

    /// <summary>What kind of record file a normalised path is, or null.</summary>
    public static RecordFile? Classify(string path)
    {
        switch (path)
        {
            case "var/lib/dpkg/status":
                return RecordFile.DpkgStatus;
            case "lib/apk/db/installed":
                return RecordFile.ApkInstalled;
            case "etc/os-release" or "usr/lib/os-release":
                return RecordFile.OsRelease;
        }
        var parent = LayerPaths.Parent(path);
        // Distroless images keep one status paragraph per package in status.d/ (dpkg's own layout is the single file).
        if (parent == "var/lib/dpkg/status.d" && !path.EndsWith(".md5sums", StringComparison.Ordinal))
        {
            return RecordFile.DpkgStatus;
        }
        var name = LayerPaths.Name(path);
        var folder = LayerPaths.Name(parent);
        // A wheel installed by pip (PEP 627's .dist-info) counts only where Python imports from.
        if (name == "METADATA" && folder.EndsWith(".dist-info", StringComparison.Ordinal)
            && LayerPaths.Name(LayerPaths.Parent(parent)) is "site-packages" or "dist-packages")
        {
            return RecordFile.PythonMetadata;
        }
        if (name == "PKG-INFO" && folder.EndsWith(".egg-info", StringComparison.Ordinal))
        {
            return RecordFile.PythonMetadata;
        }
        return null;
    }

    /// <summary>How many bytes of a record file are read; past it a database fails the layer, metadata is cut to its headers.</summary>
    public static int Limit(RecordFile kind) => kind switch
    {
        RecordFile.PythonMetadata => MaxMetadataHeaderBytes,
        RecordFile.OsRelease => MaxOsReleaseBytes,
        _ => MaxDatabaseBytes,
    };

    /// <summary>Name and Version from a core metadata file's RFC 822 headers (https://packaging.python.org/specifications/core-metadata/).</summary>
    public static PackageRecord? PythonMetadata(ReadOnlySpan<byte> bytes, string path)
    {
        string? name = null, version = null;
        foreach (var (key, value) in Headers(Encoding.UTF8.GetString(bytes)))
        {
            if (key.Equals("Name", StringComparison.OrdinalIgnoreCase))
            {
                name ??= value;
            }
            else if (key.Equals("Version", StringComparison.OrdinalIgnoreCase))
            {
                version ??= value;
            }
        }
        return string.IsNullOrEmpty(name) || string.IsNullOrEmpty(version) ? null : new PackageRecord(PackageKind.Python, name, version, null, path);
    }

    /// <summary>
    /// The installed packages of dpkg's status file (deb-status(5)): paragraphs whose <c>Status</c> is installed and
    /// wanted (<c>install ok installed</c>, or <c>hold ok installed</c> for a held package). <c>Source</c> names the
    /// source package, with its version in parentheses when that differs from the binary's (deb-control(5)).
    /// </summary>
    public static IReadOnlyList<PackageRecord> DpkgStatus(ReadOnlySpan<byte> bytes, string path)
    {
        var packages = new List<PackageRecord>();
        foreach (var paragraph in Paragraphs(Encoding.UTF8.GetString(bytes)))
        {
            var fields = Fields(paragraph);
            if (!fields.TryGetValue("Package", out var name) || !fields.TryGetValue("Version", out var version)
                || !fields.TryGetValue("Status", out var status) || !Installed(status))
            {
                continue;
            }
            string? source = null, sourceVersion = null;
            if (fields.TryGetValue("Source", out var declared))
            {
                var open = declared.IndexOf('(');
                source = (open < 0 ? declared : declared[..open]).Trim();
                if (open >= 0 && declared.IndexOf(')', open) is var close and > 0)
                {
                    sourceVersion = declared[(open + 1)..close].Trim();
                }
            }
            packages.Add(new PackageRecord(PackageKind.Debian, name, version, string.IsNullOrEmpty(source) ? name : source, path,
                string.IsNullOrEmpty(sourceVersion) ? null : sourceVersion));
            Bound(packages.Count, path);
        }
        return packages;
    }

    /// <summary>apk's installed database (apk-tools' doc/apk-package.5): <c>P:</c> name, <c>V:</c> version, <c>o:</c> origin.</summary>
    public static IReadOnlyList<PackageRecord> ApkInstalled(ReadOnlySpan<byte> bytes, string path)
    {
        var packages = new List<PackageRecord>();
        foreach (var paragraph in Paragraphs(Encoding.UTF8.GetString(bytes)))
        {
            string? name = null, version = null, origin = null;
            foreach (var line in paragraph.Split('\n'))
            {
                if (line.Length < 2 || line[1] != ':')
                {
                    continue;
                }
                var value = line[2..].Trim();
                switch (line[0])
                {
                    case 'P':
                        name ??= value;
                        break;
                    case 'V':
                        version ??= value;
                        break;
                    case 'o':
                        origin ??= value;
                        break;
                }
            }
            if (!string.IsNullOrEmpty(name) && !string.IsNullOrEmpty(version))
            {
                packages.Add(new PackageRecord(PackageKind.Alpine, name, version, string.IsNullOrEmpty(origin) ? name : origin, path));
                Bound(packages.Count, path);
            }
        }
        return packages;
    }

    /// <summary><c>ID</c> and <c>VERSION_ID</c> of an os-release file (shell-style assignments, values optionally quoted); null without an ID.</summary>
    public static OsReleaseRecord? OsRelease(ReadOnlySpan<byte> bytes, string path)
    {
        string? id = null, versionId = null;
        foreach (var raw in Encoding.UTF8.GetString(bytes).Split('\n'))
        {
            var line = raw.Trim();
            var equals = line.IndexOf('=');
            if (line.StartsWith('#') || equals <= 0)
            {
                continue;
            }
            var value = Unquote(line[(equals + 1)..]);
            switch (line[..equals])
            {
                case "ID":
                    id = value;
                    break;
                case "VERSION_ID":
                    versionId = value;
                    break;
            }
        }
        return string.IsNullOrEmpty(id) ? null : new OsReleaseRecord(path, id, string.IsNullOrEmpty(versionId) ? null : versionId);
    }

    private static bool Installed(string status) =>
        status.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [("install" or "hold"), _, "installed"];

    private static void Bound(int count, string path)
    {
        if (count > MaxPackages)
        {
            throw new InvalidDataException($"{path} lists more than {MaxPackages:N0} packages.");
        }
    }

    private static string Unquote(string value)
    {
        value = value.Trim();
        if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
        {
            value = value[1..^1];
        }
        return value.Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
    }

    /// <summary>RFC 822 headers up to the first blank line; continuation lines (starting with white space) are dropped.</summary>
    private static IEnumerable<(string Key, string Value)> Headers(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                yield break;
            }
            var colon = line.IndexOf(':');
            if (colon > 0 && !char.IsWhiteSpace(line[0]))
            {
                yield return (line[..colon].Trim(), line[(colon + 1)..].Trim());
            }
        }
    }

    /// <summary>Paragraphs separated by blank lines.</summary>
    private static IEnumerable<string> Paragraphs(string text) =>
        text.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>A deb822 paragraph's single-line fields (the first line of a multi-line one); names compare case-insensitively.</summary>
    private static Dictionary<string, string> Fields(string paragraph)
    {
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in paragraph.Split('\n'))
        {
            var colon = line.IndexOf(':');
            if (colon > 0 && !char.IsWhiteSpace(line[0]))
            {
                fields.TryAdd(line[..colon].Trim(), line[(colon + 1)..].Trim());
            }
        }
        return fields;
    }
}

/// <summary>The kinds of file that record what an image has installed.</summary>
public enum RecordFile
{
    PythonMetadata,
    DpkgStatus,
    ApkInstalled,
    OsRelease,
}
