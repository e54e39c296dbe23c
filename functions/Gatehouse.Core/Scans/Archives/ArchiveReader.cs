using System.Formats.Tar;
using System.IO.Compression;
using System.Runtime.CompilerServices;

namespace Gatehouse.Scans.Archives;

/// <summary>The container kinds we open, told by content, never by name.</summary>
public enum ArchiveFormat
{
    Unknown,
    Zip,
    Gzip,
    Tar,
}

/// <summary>The kind of an archive member.</summary>
public enum MemberKind
{
    File,
    Directory,
    Symlink,
    Hardlink,
    /// <summary>Devices, FIFOs and anything else an installer should never create.</summary>
    Special,
}

/// <summary>One member of an archive, as its headers describe it.</summary>
/// <param name="Path">The member name exactly as stored.</param>
/// <param name="Kind">File, directory, link or special.</param>
/// <param name="DeclaredSize">The uncompressed size the header claims (never trusted for allocation).</param>
/// <param name="CompressedSize">Compressed size for zip members, else -1.</param>
/// <param name="LinkTarget">Target of a link.</param>
public sealed record ArchiveMember(string Path, MemberKind Kind, long DeclaredSize, long CompressedSize, string? LinkTarget);

/// <summary>Walks zip and tar(.gz) members in one pass, handing each file's decompressed content to the caller.</summary>
public static class ArchiveReader
{
    /// <summary>Tells the format from the first bytes; the stream is left where it was.</summary>
    public static async Task<ArchiveFormat> SniffAsync(Stream stream, CancellationToken cancellationToken)
    {
        var head = new byte[512];
        var start = stream.Position;
        var read = 0;
        while (read < head.Length)
        {
            var n = await stream.ReadAsync(head.AsMemory(read), cancellationToken);
            if (n == 0)
            {
                break;
            }
            read += n;
        }
        stream.Position = start;
        var format = Sniff(head.AsSpan(0, read));
        if (format == ArchiveFormat.Gzip && !await HoldsTarAsync(stream, cancellationToken))
        {
            // A gzip'd pickle or text file is no archive: the model scanner reads it by its own magic.
            format = ArchiveFormat.Unknown;
        }
        return format;
    }

    /// <summary>
    /// A wheel: a zip whose top level holds <c>{name}.dist-info/WHEEL</c>, the file pip requires to install it. Reads
    /// only the central directory; the stream is left where it was.
    /// </summary>
    public static Task<bool> IsWheelAsync(Stream seekable, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var start = seekable.Position;
        try
        {
            using var zip = new ZipArchive(seekable, ZipArchiveMode.Read, leaveOpen: true);
            return Task.FromResult(zip.Entries.Any(e =>
                e.FullName.EndsWith(".dist-info/WHEEL", StringComparison.Ordinal) && e.FullName.IndexOf('/') == e.FullName.Length - "/WHEEL".Length));
        }
        catch (InvalidDataException)
        {
            return Task.FromResult(false);
        }
        finally
        {
            seekable.Position = start;
        }
    }

    /// <summary>Whether a gzip stream decompresses to a tar (its "ustar" magic); the stream is left where it was.</summary>
    private static async Task<bool> HoldsTarAsync(Stream stream, CancellationToken cancellationToken)
    {
        var start = stream.Position;
        try
        {
            await using var gzip = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
            var head = new byte[512];
            var read = 0;
            while (read < head.Length && await gzip.ReadAsync(head.AsMemory(read), cancellationToken) is var n and > 0)
            {
                read += n;
            }
            return Sniff(head.AsSpan(0, read)) == ArchiveFormat.Tar;
        }
        catch (InvalidDataException)
        {
            return false;
        }
        finally
        {
            stream.Position = start;
        }
    }

    public static ArchiveFormat Sniff(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 4 && head[0] == 'P' && head[1] == 'K' && (head[2] is 3 or 5) && (head[3] is 4 or 6))
        {
            return ArchiveFormat.Zip;
        }
        if (head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b)
        {
            return ArchiveFormat.Gzip;
        }
        // POSIX/GNU tar: "ustar" at offset 257.
        if (head.Length >= 262 && head[257] == 'u' && head[258] == 's' && head[259] == 't' && head[260] == 'a' && head[261] == 'r')
        {
            return ArchiveFormat.Tar;
        }
        return ArchiveFormat.Unknown;
    }

    /// <summary>
    /// Yields every member with a stream of its decompressed content (null for non-files). The content stream is only
    /// valid until the next member is requested. Zip needs a seekable stream.
    /// </summary>
    public static async IAsyncEnumerable<(ArchiveMember Member, Stream? Content)> ReadAsync(Stream stream, ArchiveFormat format,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        switch (format)
        {
            case ArchiveFormat.Zip:
                await using (var zip = await ZipArchive.CreateAsync(stream, ZipArchiveMode.Read, leaveOpen: true, entryNameEncoding: null, cancellationToken))
                {
                    foreach (var entry in zip.Entries)
                    {
                        var member = ZipMember(entry);
                        if (member.Kind != MemberKind.File)
                        {
                            yield return (member, null);
                            continue;
                        }
                        await using var content = await entry.OpenAsync(cancellationToken);
                        yield return (member, content);
                    }
                }
                break;
            case ArchiveFormat.Gzip:
            case ArchiveFormat.Tar:
                await using (var decompressed = format == ArchiveFormat.Gzip ? new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true) : null)
                await using (var tar = new TarReader(decompressed ?? stream, leaveOpen: true))
                {
                    while (await NextTarEntryAsync(tar, cancellationToken) is { } entry)
                    {
                        var member = TarMember(entry);
                        yield return (member, member.Kind == MemberKind.File ? entry.DataStream ?? Stream.Null : null);
                    }
                }
                break;
            default:
                throw new InvalidDataException("not a zip or tar archive");
        }
    }

    /// <summary>
    /// The next tar entry. System.Formats.Tar throws OverflowException for a base-256 size or time field past its type,
    /// and skipping a member whose size runs past what a seekable stream can address throws ArgumentOutOfRangeException
    /// (both found by fuzzing): that is a broken header, reported as one like the reader's other header errors.
    /// </summary>
    private static async ValueTask<TarEntry?> NextTarEntryAsync(TarReader tar, CancellationToken cancellationToken)
    {
        try
        {
            return await tar.GetNextEntryAsync(copyData: false, cancellationToken);
        }
        catch (Exception e) when (e is OverflowException or ArgumentOutOfRangeException)
        {
            throw new InvalidDataException($"A tar header field is out of range: {e.Message}", e);
        }
    }

    private static ArchiveMember ZipMember(ZipArchiveEntry entry)
    {
        // Unix mode lives in the high 16 bits of the external attributes when the archive was made on Unix.
        var mode = (entry.ExternalAttributes >> 16) & 0xF000;
        var kind = mode switch
        {
            0xA000 => MemberKind.Symlink,
            0x4000 => MemberKind.Directory,
            0x8000 or 0 => entry.FullName.EndsWith('/') ? MemberKind.Directory : MemberKind.File,
            _ => MemberKind.Special,
        };
        return new ArchiveMember(entry.FullName, kind, entry.Length, entry.CompressedLength, null);
    }

    private static ArchiveMember TarMember(TarEntry entry)
    {
        var kind = entry.EntryType switch
        {
            TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile => MemberKind.File,
            // A pax global header carries attributes, not a file.
            TarEntryType.Directory or TarEntryType.GlobalExtendedAttributes => MemberKind.Directory,
            TarEntryType.SymbolicLink => MemberKind.Symlink,
            TarEntryType.HardLink => MemberKind.Hardlink,
            _ => MemberKind.Special,
        };
        return new ArchiveMember(entry.Name, kind, entry.Length, -1, string.IsNullOrEmpty(entry.LinkName) ? null : entry.LinkName);
    }
}
