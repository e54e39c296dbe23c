using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using ZstdSharp;

namespace Gatehouse.UpstreamSimulator.Oci;

/// <summary>One member of a layer tar: a file, a directory, a symbolic link or a hard link.</summary>
public sealed record OciTarMember(string Name, TarEntryType Type, byte[]? Content = null, string? LinkName = null, UnixFileMode? Mode = null)
{
    public static OciTarMember File(string name, string text) => new(name, TarEntryType.RegularFile, Encoding.UTF8.GetBytes(text));

    public static OciTarMember File(string name, byte[] bytes) => new(name, TarEntryType.RegularFile, bytes);

    /// <summary>A directory; the name ends with a slash, as docker writes them.</summary>
    public static OciTarMember Directory(string name) => new(name.TrimEnd('/') + "/", TarEntryType.Directory);

    public static OciTarMember Symlink(string name, string target) => new(name, TarEntryType.SymbolicLink, LinkName: target);

    /// <summary>A hard link to an earlier member of the same layer (tar stores the target's path, relative to the root).</summary>
    public static OciTarMember HardLink(string name, string target) => new(name, TarEntryType.HardLink, LinkName: target);

    /// <summary>An OCI whiteout: an empty file <c>.wh.&lt;name&gt;</c> that deletes <c>name</c> from the layers below.</summary>
    public static OciTarMember Whiteout(string path)
    {
        var slash = path.LastIndexOf('/');
        return new(path[..(slash + 1)] + ".wh." + path[(slash + 1)..], TarEntryType.RegularFile, []);
    }

    /// <summary>An opaque whiteout: the directory's contents from the layers below are hidden.</summary>
    public static OciTarMember OpaqueWhiteout(string directory) => new(directory.TrimEnd('/') + "/.wh..wh..opq", TarEntryType.RegularFile, []);
}

/// <summary>A layer blob and the digest of its uncompressed tar (the config's <c>rootfs.diff_ids</c> entry).</summary>
public sealed record OciLayer(OciBlob Blob, string DiffId);

/// <summary>How a layer's tar is compressed.</summary>
public enum OciCompression
{
    None,
    Gzip,
    Zstd,
}

/// <summary>
/// Deterministic layer tars: members sorted by name, ustar headers (no pax times), a fixed mtime, uid and gid 0, so the
/// same members give the same bytes on every run.
/// </summary>
public static class OciLayers
{
    /// <summary>Every member's mtime: 2024-01-01T00:00:00Z.</summary>
    public static readonly DateTimeOffset ModificationTime = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode DirectoryMode = FileMode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary>A layer of these members, compressed as asked, with its media type for an OCI or a Docker manifest.</summary>
    public static OciLayer Build(IEnumerable<OciTarMember> members, OciCompression compression, bool docker = false)
    {
        var tar = Tar(members);
        var (bytes, mediaType) = compression switch
        {
            OciCompression.Gzip => (Gzip(tar), docker ? RegistryMediaTypes.DockerLayerGzip : RegistryMediaTypes.OciLayerGzip),
            OciCompression.Zstd when !docker => (Zstd(tar), RegistryMediaTypes.OciLayerZstd),
            OciCompression.None when !docker => (tar, RegistryMediaTypes.OciLayerTar),
            _ => throw new ArgumentException($"A Docker schema-2 manifest has no {compression} layer type.", nameof(compression)),
        };
        return new OciLayer(OciBlob.Of(bytes, mediaType), OciBlob.DigestOf(tar));
    }

    /// <summary>The uncompressed tar; a hard link must come after its target in name order.</summary>
    public static byte[] Tar(IEnumerable<OciTarMember> members)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Ustar, leaveOpen: true))
        {
            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var member in members.OrderBy(m => m.Name, StringComparer.Ordinal))
            {
                if (!written.Add(member.Name))
                {
                    throw new ArgumentException($"Two members named '{member.Name}'.", nameof(members));
                }
                if (member.Type == TarEntryType.HardLink && !written.Contains(member.LinkName!))
                {
                    throw new ArgumentException($"Hard link '{member.Name}' comes before its target '{member.LinkName}'.", nameof(members));
                }

                var entry = new UstarTarEntry(member.Type, member.Name)
                {
                    ModificationTime = ModificationTime,
                    Uid = 0,
                    Gid = 0,
                    Mode = member.Mode ?? (member.Type is TarEntryType.Directory or TarEntryType.SymbolicLink ? DirectoryMode : FileMode),
                };
                if (member.LinkName is not null)
                {
                    entry.LinkName = member.LinkName;
                }
                if (member.Content is not null)
                {
                    entry.DataStream = new MemoryStream(member.Content, writable: false);
                }
                writer.WriteEntry(entry);
            }
        }
        return buffer.ToArray();
    }

    public static byte[] Gzip(byte[] tar)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(tar);
        }
        return buffer.ToArray();
    }

    public static byte[] Zstd(byte[] tar)
    {
        using var compressor = new Compressor(level: 3);
        return compressor.Wrap(tar).ToArray();
    }
}
