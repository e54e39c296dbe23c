namespace Gatehouse.Oci.Layers;

/// <summary>
/// Layer entry names as a container runtime extracts them under its rootfs, and the OCI image spec's whiteouts
/// (https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts).
/// </summary>
public static class LayerPaths
{
    /// <summary>The prefix of a whiteout file's name: <c>.wh.b</c> deletes <c>b</c> from lower layers.</summary>
    public const string WhiteoutPrefix = ".wh.";

    /// <summary>The opaque whiteout: the directory holding it hides everything lower layers put in it.</summary>
    public const string OpaqueWhiteout = ".wh..wh..opq";

    /// <summary>
    /// The path under the rootfs: separators are <c>/</c>, leading <c>./</c> and <c>/</c> go, and <c>.</c> and <c>..</c>
    /// are resolved with <c>..</c> stopping at the root, as moby's and containerd's <c>archive.Apply</c> join a name to
    /// the root (a layer cannot write outside it). The root itself is "".
    /// </summary>
    public static string Normalize(string name)
    {
        var parts = new List<string>();
        foreach (var segment in name.Replace('\\', '/').Split('/'))
        {
            if (segment is "" or ".")
            {
                continue;
            }
            if (segment == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
                continue;
            }
            parts.Add(segment);
        }
        return string.Join('/', parts);
    }

    /// <summary>The directory holding <paramref name="path"/> ("" at the root).</summary>
    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? "" : path[..slash];
    }

    /// <summary>The last segment of <paramref name="path"/>.</summary>
    public static string Name(string path) => path[(path.LastIndexOf('/') + 1)..];

    /// <summary>Every proper ancestor of <paramref name="path"/>, nearest first ("a/b/c" → "a/b", "a").</summary>
    public static IEnumerable<string> Ancestors(string path)
    {
        for (var slash = path.LastIndexOf('/'); slash > 0; slash = path.LastIndexOf('/', slash - 1))
        {
            yield return path[..slash];
        }
    }

    /// <summary>Joins a directory and a name.</summary>
    public static string Join(string directory, string name) => directory.Length == 0 ? name : directory + "/" + name;
}
