using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.LZMA;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// Zip archives read the way PyTorch's <c>PyTorchStreamReader</c> (miniz) reads them, and no stricter: the central
/// directory is the truth; the local header only says where the data starts; general-purpose flag bits, CRC-32 and a
/// local name that differs from the central one are tolerated and reported, never a reason to skip a member. Every
/// member is sniffed by content (a protocol 0 pickle named <c>archive/data.txt</c> is still a pickle); members a
/// torch or TorchScript loader unpickles by name (<c>*.pkl</c>) are always pickle-scanned; tensor records
/// (<c>&lt;archive&gt;/data/&lt;key&gt;</c>) are length-walked and never read. The same reader serves .npz, .keras and
/// any other zip, whose loaders (Python's <c>zipfile</c>) are stricter than miniz: whatever either can read is scanned,
/// including the methods only zipfile reads (bzip2, LZMA, and zstd since Python 3.14).
/// Sizes in headers are never allocated; members are streamed.
/// </summary>
internal static class TorchZipReader
{
    /// <summary>Rules with the reason each matters.</summary>
    public static class Rules
    {
        /// <summary>Flag bits 0x1/0x20/0x40 (encrypted, patched, strong encryption) on a readable member: the CVE-2025-1945 trick that made strict readers skip it.</summary>
        public const string FlagBits = "zip.flag-bits";
        /// <summary>A CRC-32 that does not match: miniz (PyTorch) ignores it, Python's zipfile refuses, so scanners that use zipfile skipped the member.</summary>
        public const string BadCrc = "zip.bad-crc";
        /// <summary>Local and central names differ (data.pkl vs datap.kl, CVE-2025-1944): each tool sees a different member name.</summary>
        public const string NameMismatch = "zip.name-mismatch";
        /// <summary>Truly encrypted content cannot be scanned, so it is never served as clean.</summary>
        public const string Encrypted = "zip.encrypted";
        /// <summary>A compression method neither miniz nor the scanner decodes: the content was not checked.</summary>
        public const string UnsupportedMethod = "zip.unsupported-method";
        /// <summary>The data does not decompress to the size the directory declares; loaders stop at the declared size.</summary>
        public const string SizeMismatch = "zip.size-mismatch";
        /// <summary>The directory or a header breaks the format: loaders fail or read something else.</summary>
        public const string Corrupt = "zip.corrupt";
        /// <summary>Bytes before the archive: Python's zipfile shifts every offset by them, miniz does not, so they read different data.</summary>
        public const string OffsetShift = "zip.offset-shift";
        /// <summary>Members that share bytes: the shape of overlapping-entry zip bombs; Python's zipfile refuses them since 3.12.</summary>
        public const string Overlapping = "zip.overlapping-members";
        /// <summary>Python code in a TorchServe archive (a custom handler, a model definition, requirements): the server imports or installs it.</summary>
        public const string TorchServeCode = "torchserve.code";
    }

    /// <summary>More members than any model archive has: a directory bomb.</summary>
    private const int MaxEntries = 1_000_000;

    /// <summary>The largest config.json read into memory for Keras.</summary>
    private const int MaxConfigBytes = 64 * 1024 * 1024;

    private const uint LocalHeaderSignature = 0x04034B50;
    private const uint CentralHeaderSignature = 0x02014B50;
    private const uint EndSignature = 0x06054B50;
    private const uint Zip64EndSignature = 0x06064B50;
    private const uint Zip64LocatorSignature = 0x07064B50;

    private const ushort FlagEncrypted = 0x0001;
    private const ushort FlagPatched = 0x0020;
    private const ushort FlagStrongEncryption = 0x0040;
    private const ushort FlagUtf8 = 0x0800;
    private const ushort FlagDirectoryMasked = 0x2000;

    /// <summary>One member as the central directory and its local header describe it.</summary>
    internal sealed record Entry(
        string Name,
        byte[] NameBytes,
        string LocalName,
        byte[] LocalNameBytes,
        ushort Flags,
        ushort LocalFlags,
        ushort Method,
        uint Crc,
        long CompressedSize,
        long UncompressedSize,
        long DataOffset,
        long LocalHeaderOffset,
        bool IsSymlink,
        bool IsDirectory);

    /// <summary>Where the central directory is, as miniz finds it.</summary>
    internal sealed record Directory(long Offset, long Size, long Count, long Shift);

    /// <summary>True when the last 64 KiB hold an end record whose central directory is where it says: a zip is there.</summary>
    public static bool HasDirectory(Stream seekable)
    {
        try
        {
            return FindDirectory(seekable) is not null;
        }
        catch (ContainerFormatException)
        {
            return false;
        }
    }

    /// <summary>Scans every member; returns the format the content turned out to be.</summary>
    /// <param name="embedded">The zip ends content of another format (a polyglot): bytes before it are expected.</param>
    public static string Scan(ScanContext context, Stream seekable, string? path, int depth, bool embedded = false)
    {
        var entries = ReadEntries(context, seekable, path, embedded);
        CheckOverlaps(context, entries, path);
        var names = new ArchiveMemberNames(context, path, extractedAsGiven: false);
        var layout = Layout.Of(entries);
        var routed = new List<string>();

        foreach (var entry in entries)
        {
            context.ThrowIfCancelled();
            names.Check(entry.Name);
            var memberPath = ScanContext.Child(path, entry.Name);
            if (entry.IsSymlink)
            {
                context.Guarded(memberPath, () => names.CheckLink(entry.Name, ReadSymlinkTarget(seekable, entry), hard: false));
                continue;
            }
            if (entry.IsDirectory)
            {
                continue;
            }
            CheckHeaders(context, entry, memberPath);
            if (entry.DataOffset + entry.CompressedSize > seekable.Length)
            {
                context.Add(Rules.Corrupt, ScanLevel.Invalid, $"Member data runs past the end of the archive ({entry.DataOffset + entry.CompressedSize:N0} > {seekable.Length:N0}).", memberPath);
                continue;
            }
            if (layout.IsTensorRecord(entry))
            {
                // Raw storage bytes that torch.load maps into tensors and never unpickles: walked by length only.
                continue;
            }
            if (layout.IsKerasConfig(entry))
            {
                context.Guarded(memberPath, () => ScanKerasConfig(context, seekable, entry, memberPath));
                continue;
            }
            if (layout.IsTorchServeCode(entry))
            {
                // TorchServe (ts/model_loader.py) imports the handler and model-definition modules from the archive, and
                // pip-installs requirements.txt when install_py_dep_per_model is set: code that runs, not data.
                context.Add(Rules.TorchServeCode, ScanLevel.Suspicious,
                    $"'{entry.Name}' is {(entry.Name.EndsWith(".py", StringComparison.OrdinalIgnoreCase) ? "Python code TorchServe imports when it serves the model (a custom handler or model definition)" : "a requirements file TorchServe can pip-install")}; it cannot be proven safe.", memberPath);
            }
            var before = context.Findings.Count;
            var format = ScanMember(context, seekable, entry, memberPath, layout.IsPickleByName(entry), depth);
            if (format is not null)
            {
                routed.Add(format);
            }
            if (!entry.NameBytes.AsSpan().SequenceEqual(entry.LocalNameBytes))
            {
                ReportUnderLocalName(context, before, memberPath, ScanContext.Child(path, entry.LocalName));
            }
        }
        return layout.Format(routed);
    }

    /// <summary>Reads the central directory and each member's local header; nothing the headers claim is allocated.</summary>
    internal static List<Entry> ReadEntries(ScanContext context, Stream seekable, string? path, bool embedded = false)
    {
        var directory = FindDirectory(seekable) ?? throw new ContainerFormatException(Rules.Corrupt, "No zip end-of-central-directory record was found.");
        var start = directory.Offset;
        if (directory.Shift != 0)
        {
            if (!embedded)
            {
                context.Add(Rules.OffsetShift, ScanLevel.Suspicious,
                    $"{directory.Shift:N0} bytes sit before the archive: Python's zipfile and miniz (PyTorch) read members at different offsets.", path);
            }
            if (!SignatureAt(seekable, start, CentralHeaderSignature) && SignatureAt(seekable, start + directory.Shift, CentralHeaderSignature))
            {
                start += directory.Shift;
            }
        }
        var entries = new List<Entry>();
        using var reader = new BinaryReader(new BufferedStream(new WindowStream(seekable, start, Math.Min(directory.Size, seekable.Length - start)), 1 << 16));
        var consumed = 0L;
        while (consumed + 46 <= directory.Size)
        {
            context.ThrowIfCancelled();
            if (entries.Count >= MaxEntries)
            {
                throw new ScanLimitException(ContainerRules.SizeLimit, $"More than {MaxEntries:N0} members; the rest were not scanned.", path);
            }
            if (reader.ReadUInt32() != CentralHeaderSignature)
            {
                throw new ContainerFormatException(Rules.Corrupt, $"Central directory entry {entries.Count} has a bad signature.");
            }
            var madeBy = reader.ReadUInt16();
            reader.ReadUInt16(); // version needed
            var flags = reader.ReadUInt16();
            var method = reader.ReadUInt16();
            reader.ReadUInt32(); // time and date
            var crc = reader.ReadUInt32();
            long compressed = reader.ReadUInt32();
            long uncompressed = reader.ReadUInt32();
            var nameLength = reader.ReadUInt16();
            var extraLength = reader.ReadUInt16();
            var commentLength = reader.ReadUInt16();
            long diskStart = reader.ReadUInt16();
            reader.ReadUInt16(); // internal attributes
            var external = reader.ReadUInt32();
            long localOffset = reader.ReadUInt32();
            var nameBytes = reader.ReadBytes(nameLength);
            var extra = reader.ReadBytes(extraLength);
            reader.BaseStream.Seek(commentLength, SeekOrigin.Current);
            consumed += 46 + nameLength + extraLength + commentLength;
            if (nameBytes.Length != nameLength || extra.Length != extraLength)
            {
                throw new ContainerFormatException(Rules.Corrupt, "The central directory is truncated.");
            }
            ReadZip64Extra(extra, ref uncompressed, ref compressed, ref localOffset, ref diskStart);
            if (diskStart != 0)
            {
                throw new ContainerFormatException(Rules.Corrupt, "Multi-disk archives are not read by PyTorch or Python's zipfile.");
            }
            if ((flags & FlagDirectoryMasked) != 0)
            {
                throw new ContainerFormatException(Rules.Encrypted, "The central directory is encrypted (flag 0x2000); nothing in it can be scanned.");
            }
            var name = DecodeName(nameBytes, flags);
            var (localName, localNameBytes, localFlags, dataOffset) = ReadLocalHeader(seekable, localOffset + (start - directory.Offset), name);
            var isUnix = madeBy >> 8 == 3;
            var isSymlink = isUnix && ((external >> 16) & 0xF000) == 0xA000;
            var isDirectory = name.EndsWith('/') && uncompressed == 0;
            var localHeaderOffset = localOffset + (start - directory.Offset);
            entries.Add(new Entry(name, nameBytes, localName, localNameBytes, flags, localFlags, method, crc, compressed, uncompressed, dataOffset, localHeaderOffset, isSymlink, isDirectory));
        }
        if (entries.Count != directory.Count)
        {
            context.Add(Rules.Corrupt, ScanLevel.Invalid,
                $"The end record counts {directory.Count:N0} members but the directory holds {entries.Count:N0}: miniz and zipfile see different members.", path);
        }
        return entries;
    }

    private static void CheckOverlaps(ScanContext context, List<Entry> entries, string? path)
    {
        var end = -1L;
        foreach (var entry in entries.Where(e => !e.IsDirectory).OrderBy(e => e.LocalHeaderOffset))
        {
            if (entry.LocalHeaderOffset < end)
            {
                context.Add(Rules.Overlapping, ScanLevel.Suspicious,
                    $"Member '{entry.Name}' starts inside the data of another member: overlapping members are how zip bombs multiply one compressed block.", path);
                return;
            }
            end = Math.Max(end, entry.DataOffset + entry.CompressedSize);
        }
    }

    /// <summary>The last end record in the final 64 KiB (as miniz and zipfile both choose), with its zip64 record when there is one.</summary>
    private static Directory? FindDirectory(Stream seekable)
    {
        var length = seekable.Length;
        var tailLength = (int)Math.Min(length, 22 + 0xFFFF);
        if (tailLength < 22)
        {
            return null;
        }
        var tail = new byte[tailLength];
        seekable.Position = length - tailLength;
        seekable.ReadExactly(tail);
        var at = -1;
        for (var i = tailLength - 22; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i)) == EndSignature)
            {
                at = i;
                break;
            }
        }
        if (at < 0)
        {
            return null;
        }
        var end = tail.AsSpan(at);
        var endPosition = length - tailLength + at;
        long disk = BinaryPrimitives.ReadUInt16LittleEndian(end[4..]);
        long directoryDisk = BinaryPrimitives.ReadUInt16LittleEndian(end[6..]);
        long count = BinaryPrimitives.ReadUInt16LittleEndian(end[10..]);
        long size = BinaryPrimitives.ReadUInt32LittleEndian(end[12..]);
        long offset = BinaryPrimitives.ReadUInt32LittleEndian(end[16..]);
        var recordPosition = endPosition;

        if (endPosition >= 20)
        {
            var locator = new byte[20];
            seekable.Position = endPosition - 20;
            seekable.ReadExactly(locator);
            if (BinaryPrimitives.ReadUInt32LittleEndian(locator) == Zip64LocatorSignature)
            {
                var zip64Position = BinaryPrimitives.ReadInt64LittleEndian(locator.AsSpan(8));
                var record = new byte[56];
                if (zip64Position < 0 || zip64Position + 56 > endPosition)
                {
                    throw new ContainerFormatException(Rules.Corrupt, "The zip64 locator points outside the archive.");
                }
                seekable.Position = zip64Position;
                seekable.ReadExactly(record);
                if (BinaryPrimitives.ReadUInt32LittleEndian(record) != Zip64EndSignature)
                {
                    throw new ContainerFormatException(Rules.Corrupt, "The zip64 end record has a bad signature.");
                }
                disk = BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(16));
                directoryDisk = BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(20));
                count = ClampLength(BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(32)));
                size = ClampLength(BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(40)));
                offset = ClampLength(BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(48)));
                recordPosition = zip64Position;
            }
        }
        if (disk != 0 || directoryDisk != 0)
        {
            throw new ContainerFormatException(Rules.Corrupt, "Multi-disk archives are not read by PyTorch or Python's zipfile.");
        }
        var shift = recordPosition - size - offset;
        if (shift < 0)
        {
            throw new ContainerFormatException(Rules.Corrupt, "The central directory overlaps its end record.");
        }
        if (count > 0 && !SignatureAt(seekable, offset, CentralHeaderSignature) && !SignatureAt(seekable, offset + shift, CentralHeaderSignature))
        {
            throw new ContainerFormatException(Rules.Corrupt, "No central directory where the end record says.");
        }
        return new Directory(offset, size, count, shift);
    }

    private static long ClampLength(ulong value) => value > long.MaxValue ? long.MaxValue : (long)value;

    private static bool SignatureAt(Stream seekable, long position, uint signature)
    {
        if (position < 0 || position + 4 > seekable.Length)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[4];
        seekable.Position = position;
        seekable.ReadExactly(bytes);
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes) == signature;
    }

    /// <summary>The zip64 extra (0x0001) holds, in order, only the fields the fixed header saturated.</summary>
    private static void ReadZip64Extra(ReadOnlySpan<byte> extra, ref long uncompressed, ref long compressed, ref long localOffset, ref long diskStart)
    {
        while (extra.Length >= 4)
        {
            var id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            var size = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (4 + size > extra.Length)
            {
                return;
            }
            var data = extra.Slice(4, size);
            extra = extra[(4 + size)..];
            if (id != 0x0001)
            {
                continue;
            }
            if (uncompressed == uint.MaxValue && data.Length >= 8)
            {
                uncompressed = ClampLength(BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            if (compressed == uint.MaxValue && data.Length >= 8)
            {
                compressed = ClampLength(BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            if (localOffset == uint.MaxValue && data.Length >= 8)
            {
                localOffset = ClampLength(BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            if (diskStart == ushort.MaxValue && data.Length >= 4)
            {
                diskStart = BinaryPrimitives.ReadUInt32LittleEndian(data);
            }
            return;
        }
    }

    /// <summary>miniz reads only the signature and the name and extra lengths of the local header, to find the data.</summary>
    private static (string Name, byte[] NameBytes, ushort Flags, long DataOffset) ReadLocalHeader(Stream seekable, long offset, string centralName)
    {
        if (offset < 0 || offset + 30 > seekable.Length)
        {
            throw new ContainerFormatException(Rules.Corrupt, $"The local header of '{centralName}' is outside the archive.");
        }
        var header = new byte[30];
        seekable.Position = offset;
        seekable.ReadExactly(header);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != LocalHeaderSignature)
        {
            throw new ContainerFormatException(Rules.Corrupt, $"The local header of '{centralName}' has a bad signature.");
        }
        var flags = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(6));
        var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(26));
        var extraLength = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(28));
        var nameBytes = new byte[nameLength];
        var read = ScanContext.ReadAtMost(seekable, nameBytes);
        if (read != nameLength)
        {
            throw new ContainerFormatException(Rules.Corrupt, $"The local header of '{centralName}' is truncated.");
        }
        return (DecodeName(nameBytes, flags), nameBytes, flags, offset + 30 + nameLength + extraLength);
    }

    /// <summary>UTF-8 when flagged or valid, otherwise byte for byte (names are compared as bytes, as miniz does).</summary>
    private static string DecodeName(byte[] bytes, ushort flags)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException) when ((flags & FlagUtf8) == 0)
        {
            return Encoding.Latin1.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return Encoding.UTF8.GetString(bytes);
        }
    }

    private static void CheckHeaders(ScanContext context, Entry entry, string memberPath)
    {
        if (!entry.NameBytes.AsSpan().SequenceEqual(entry.LocalNameBytes))
        {
            context.Add(Rules.NameMismatch, ScanLevel.Suspicious,
                $"The central directory names the member '{entry.Name}' but its local header names it '{entry.LocalName}'; it was scanned under both names.", memberPath);
        }
    }

    /// <summary>Flag bits a strict reader refuses on a member that is read anyway (miniz refuses the central ones, ignores the local ones).</summary>
    private static void ReportFlagBits(ScanContext context, Entry entry, string memberPath)
    {
        const ushort refused = FlagEncrypted | FlagPatched | FlagStrongEncryption;
        var central = entry.Flags & refused;
        var local = entry.LocalFlags & refused;
        if (central == 0 && local == 0)
        {
            return;
        }
        var where = central != 0 ? local != 0 ? "central and local headers" : "central directory (PyTorch refuses the member)" : "local header (PyTorch ignores it)";
        context.Add(Rules.FlagBits, ScanLevel.Suspicious,
            $"General-purpose flag bits 0x{central | local:X} (encrypted/patched/strong encryption) are set in the {where}: strict zip readers skip the member; it was scanned as plain data.", memberPath);
    }

    /// <summary>Streams one member to the pickle scanner or the router; returns what the router found, if it was routed.</summary>
    private static string? ScanMember(ScanContext context, Stream seekable, Entry entry, string memberPath, bool pickleByName, int depth)
    {
        var encryptedFlag = ((entry.Flags | entry.LocalFlags) & (FlagEncrypted | FlagStrongEncryption)) != 0;
        if (entry.Method == 99 || (encryptedFlag && entry.Method == 0 && entry.CompressedSize == entry.UncompressedSize + 12))
        {
            // AES (method 99) or a traditional PKWARE member with its 12-byte encryption header: truly encrypted.
            context.Add(Rules.Encrypted, ScanLevel.Invalid, "The member is encrypted, so its content cannot be scanned.", memberPath);
            return null;
        }
        if (entry.Method is not (0 or 8 or 12 or 14 or 93))
        {
            context.Add(Rules.UnsupportedMethod, ScanLevel.Invalid, $"Compression method {entry.Method} is read by neither PyTorch nor this scanner; the content was not checked.", memberPath);
            return null;
        }
        ReportFlagBits(context, entry, memberPath);
        if (entry.Method == 0 && entry.CompressedSize != entry.UncompressedSize)
        {
            context.Add(Rules.SizeMismatch, ScanLevel.Invalid,
                $"A stored member declares {entry.CompressedSize:N0} stored and {entry.UncompressedSize:N0} uncompressed bytes: miniz refuses the archive, zipfile reads the smaller.", memberPath);
        }

        string? format = null;
        CrcStream? content = null;
        GuardedStream? guarded = null;
        var failed = false;
        context.Guarded(memberPath, () =>
        {
            var window = new WindowStream(seekable, entry.DataOffset, entry.CompressedSize);
            if (entry.Method == 0)
            {
                // Stored data stays seekable: nested archives are read in place, not copied.
                content = new CrcStream(new WindowStream(seekable, entry.DataOffset, Math.Min(entry.CompressedSize, entry.UncompressedSize)));
            }
            else
            {
                var counting = new CountingStream(window);
                var decoded = entry.Method switch
                {
                    8 => new DeflateStream(counting, CompressionMode.Decompress),
                    12 => BZip2Stream.Create(counting, SharpCompress.Compressors.CompressionMode.Decompress, decompressConcatenated: false),
                    // Zstandard (APPNOTE 6.3.7 method 93): Python 3.14's zipfile (ZIP_ZSTANDARD) reads it, so np.load and Keras do.
                    93 => new ZstdSharp.DecompressionStream(counting),
                    _ => OpenZipLzma(counting),
                };
                guarded = new GuardedStream(decoded, context, memberPath, () => counting.BytesRead, entry.UncompressedSize);
                content = new CrcStream(guarded);
            }
            using (content)
            {
                if (pickleByName)
                {
                    context.AddRange(context.Pickles.Scan(content, memberPath, depth + 1, "torch.load"));
                    format = "pickle";
                }
                else
                {
                    format = context.Route(content, memberPath, entry.Name, depth + 1);
                }
            }
        }, onFailure: _ => failed = true, corruptRule: encryptedFlag ? Rules.Encrypted : Rules.Corrupt);

        if (failed || content is null)
        {
            return format;
        }
        if (content.ReachedEnd)
        {
            if (content.Crc != entry.Crc)
            {
                context.Add(encryptedFlag ? Rules.Encrypted : Rules.BadCrc, encryptedFlag ? ScanLevel.Invalid : ScanLevel.Suspicious, encryptedFlag
                    ? "The member is flagged encrypted and its plain reading fails the CRC-32: it is encrypted and cannot be scanned."
                    : $"CRC-32 is {content.Crc:x8} but the directory says {entry.Crc:x8}: PyTorch loads it anyway, strict readers refuse it.", memberPath);
            }
            if (guarded is not null && guarded.BytesWritten < entry.UncompressedSize)
            {
                context.Add(Rules.SizeMismatch, ScanLevel.Suspicious,
                    $"The member decompresses to {guarded.BytesWritten:N0} bytes, fewer than the {entry.UncompressedSize:N0} declared.", memberPath);
            }
        }
        if (guarded is { ExceededDeclaredLength: true })
        {
            context.Add(Rules.SizeMismatch, ScanLevel.Suspicious,
                $"The member decompresses past the {entry.UncompressedSize:N0} bytes declared; loaders stop there and so did the scan.", memberPath);
        }
        return format;
    }

    /// <summary>Zip's LZMA (method 14): version (2 bytes), property size (2 bytes), properties, then the raw stream.</summary>
    private static Stream OpenZipLzma(Stream input)
    {
        Span<byte> header = stackalloc byte[4];
        input.ReadExactly(header);
        var propertySize = BinaryPrimitives.ReadUInt16LittleEndian(header[2..]);
        if (propertySize != 5)
        {
            throw new ContainerFormatException(Rules.Corrupt, $"LZMA properties are {propertySize} bytes, not 5.");
        }
        var properties = new byte[5];
        input.ReadExactly(properties);
        return LzmaStream.Create(properties, input, -1, -1, leaveOpen: false);
    }

    private static void ScanKerasConfig(ScanContext context, Stream seekable, Entry entry, string memberPath)
    {
        if (entry.UncompressedSize > MaxConfigBytes)
        {
            throw new ScanLimitException(ContainerRules.SizeLimit, $"config.json is larger than {MaxConfigBytes:N0} bytes and was not parsed.", memberPath);
        }
        Stream data = new WindowStream(seekable, entry.DataOffset, entry.CompressedSize);
        if (entry.Method is 8 or 93)
        {
            var counting = new CountingStream(data);
            Stream decoded = entry.Method == 8 ? new DeflateStream(counting, CompressionMode.Decompress) : new ZstdSharp.DecompressionStream(counting);
            data = new GuardedStream(decoded, context, memberPath, () => counting.BytesRead, entry.UncompressedSize);
        }
        else if (entry.Method != 0)
        {
            throw new ContainerFormatException(Rules.UnsupportedMethod, $"config.json uses compression method {entry.Method}.");
        }
        using var buffer = new MemoryStream();
        data.CopyTo(buffer);
        KerasReader.ScanConfig(context, buffer.ToArray(), memberPath);
    }

    private static string ReadSymlinkTarget(Stream seekable, Entry entry)
    {
        if (entry.Method != 0 || entry.CompressedSize > 4096)
        {
            return "(unreadable target)";
        }
        var bytes = new byte[entry.CompressedSize];
        seekable.Position = entry.DataOffset;
        seekable.ReadExactly(bytes);
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Repeats the member's findings under its local-header name, so a report shows both.</summary>
    private static void ReportUnderLocalName(ScanContext context, int firstFinding, string centralPath, string localPath)
    {
        var copies = context.Findings.Skip(firstFinding)
            .Where(f => f.Path is not null && f.Path.StartsWith(centralPath, StringComparison.Ordinal) && f.Rule != Rules.NameMismatch)
            .Select(f => f with { Path = localPath + f.Path![centralPath.Length..] })
            .ToList();
        context.AddRange(copies);
    }

    /// <summary>What the member names say the archive is, and which members the loaders read by name.</summary>
    private sealed class Layout
    {
        private readonly string _prefix;
        private readonly bool _torch;
        private readonly bool _torchScript;
        private readonly bool _keras;
        private readonly bool _torchServe;

        private Layout(string prefix, bool torch, bool torchScript, bool keras, bool torchServe)
        {
            _prefix = prefix;
            _torch = torch;
            _torchScript = torchScript;
            _keras = keras;
            _torchServe = torchServe;
        }

        public static Layout Of(IReadOnlyList<Entry> entries)
        {
            // PyTorch takes the archive name from the first member's top folder and prefixes every record with it.
            var first = entries.FirstOrDefault(e => !e.IsDirectory)?.Name ?? "";
            var slash = first.IndexOf('/');
            var prefix = slash > 0 ? first[..(slash + 1)] : "";
            bool Has(string record) => prefix.Length > 0 && entries.Any(e => e.Name.Equals(prefix + record, StringComparison.OrdinalIgnoreCase));
            var torch = Has("data.pkl") || Has("constants.pkl");
            var torchScript = Has("constants.pkl") && entries.Any(e => e.Name.StartsWith(prefix + "code/", StringComparison.OrdinalIgnoreCase));
            var keras = entries.Any(e => e.Name == "config.json");
            // torch-model-archiver writes MAR-INF/MANIFEST.json into every .mar.
            var torchServe = entries.Any(e => e.Name.Equals("MAR-INF/MANIFEST.json", StringComparison.OrdinalIgnoreCase));
            return new Layout(prefix, torch, torchScript, keras, torchServe);
        }

        /// <summary>torch.load and torch.jit.load unpickle records by name: every *.pkl in a torch archive.</summary>
        public bool IsPickleByName(Entry entry) =>
            _torch && (entry.Name.EndsWith(".pkl", StringComparison.OrdinalIgnoreCase) || entry.LocalName.EndsWith(".pkl", StringComparison.OrdinalIgnoreCase));

        /// <summary>A tensor record only when both names say so: a mismatched name is sniffed like any member.</summary>
        public bool IsTensorRecord(Entry entry) => _torch && IsTensorName(entry.Name) && IsTensorName(entry.LocalName);

        public bool IsKerasConfig(Entry entry) => _keras && !_torch && entry.Name == "config.json" && entry.LocalName == "config.json";

        /// <summary>A TorchServe archive's Python modules and requirements file.</summary>
        public bool IsTorchServeCode(Entry entry) =>
            _torchServe && (entry.Name.EndsWith(".py", StringComparison.OrdinalIgnoreCase) || entry.Name.EndsWith("requirements.txt", StringComparison.OrdinalIgnoreCase));

        public string Format(IReadOnlyList<string> routed) =>
            _torchServe ? "torchserve-mar"
            : _torchScript ? "torchscript"
            : _torch || routed.Any(f => f is "pickle" or "joblib" or "pytorch-legacy") ? "pytorch-zip"
            : _keras ? "keras"
            : routed.Contains("npy") ? "npz"
            : "zip";

        private bool IsTensorName(string name)
        {
            var records = _prefix + "data/";
            return name.Length > records.Length && name.StartsWith(records, StringComparison.OrdinalIgnoreCase) && name.IndexOf('/', records.Length) < 0;
        }
    }
}
