using System.Buffers;
using System.Text;

namespace Gatehouse.Scanning.Containers;

/// <summary>What a tar header says an entry is.</summary>
public enum TarMemberKind
{
    File,
    Directory,
    Symlink,
    Hardlink,
    /// <summary>Character and block devices, FIFOs, and type flags no tool defines.</summary>
    Special,
}

/// <summary>One tar entry as Python's <c>tarfile</c> would see it, after its GNU long-name and pax records.</summary>
/// <param name="Name">The member name: a pax <c>path</c> or GNU long name when present, else ustar prefix + name.</param>
/// <param name="TypeFlag">The header's type byte ('0', '5', '2', …).</param>
/// <param name="Size">The data size (a pax <c>size</c> wins over the header's).</param>
/// <param name="LinkName">The link target, empty when none.</param>
/// <param name="OversizedHeader">
/// A GNU long name/link or pax record before this entry larger than <see cref="BoundedTarReader.MaxHeaderBytes"/>,
/// described; it was skipped unread, so <see cref="Name"/> and <see cref="LinkName"/> may not be what a loader sees.
/// </param>
public sealed record TarMember(string Name, char TypeFlag, TarMemberKind Kind, long Size, string LinkName, string? OversizedHeader);

/// <summary>
/// A forward-only tar reader (ustar, GNU, pax, v7) that never loads a header record whole: GNU long names/links
/// (<c>'L'</c>/<c>'K'</c>) and pax records (<c>'x'</c>/<c>'g'</c>) above <see cref="MaxHeaderBytes"/> are skipped by
/// streaming and reported on the entry they precede. <see cref="System.Formats.Tar.TarReader"/> reads such records into
/// memory whatever their size, so a 261 KB .tar.gz can claim a 256 MiB name. Otherwise it follows CPython's
/// <c>tarfile</c> (Lib/tarfile.py, <c>TarInfo.frombuf</c>, <c>_proc_gnulong</c>, <c>_proc_pax</c>): NUL-terminated
/// fields, octal or base-256 numbers, both checksum conventions, the first of several names wins, a pax global header
/// applies only with a local one, and only regular files (and unknown types) carry data.
/// </summary>
public sealed class BoundedTarReader : IDisposable, IAsyncDisposable
{
    /// <summary>The largest GNU long name/link or pax record read; Linux paths end at 4 KiB, pax records in practice far below this.</summary>
    public const int MaxHeaderBytes = 64 * 1024;

    /// <summary>Rule id for an entry whose name or pax record was skipped because it is over the bound.</summary>
    public const string OversizedHeaderRule = "archive.oversized-header";

    private const int Block = 512;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly byte[] _header = new byte[Block];
    private readonly Dictionary<string, string> _global = new(StringComparer.Ordinal);
    private EntryStream? _current;
    private long _padding;
    private bool _ended;

    public BoundedTarReader(Stream stream, bool leaveOpen = false)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
    }

    /// <summary>The data of the entry last returned (empty for links, directories and devices); valid until the next call.</summary>
    public Stream Data => _current ?? Stream.Null;

    /// <summary>The next entry, or null at the end of the archive. Throws <see cref="InvalidDataException"/> on a broken header.</summary>
    public TarMember? Next()
    {
        Skip(Remaining());
        var pending = new Pending();
        while (true)
        {
            if (_ended || !ReadBlock())
            {
                return End();
            }
            var record = Parse(pending);
            if (record is not { } meta)
            {
                return End();
            }
            if (meta.Entry is { } entry)
            {
                return entry;
            }
            if (meta.Size > MaxHeaderBytes)
            {
                pending.Oversized ??= Describe(meta.Type, meta.Size);
                Skip(Padded(meta.Size));
                continue;
            }
            var data = ArrayPool<byte>.Shared.Rent((int)meta.Size);
            try
            {
                _stream.ReadExactly(data, 0, (int)meta.Size);
                Skip(Padded(meta.Size) - meta.Size);
                pending.Apply(meta.Type, data.AsSpan(0, (int)meta.Size), _global);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(data);
            }
        }
    }

    /// <inheritdoc cref="Next"/>
    public async ValueTask<TarMember?> NextAsync(CancellationToken cancellationToken)
    {
        await SkipAsync(Remaining(), cancellationToken);
        var pending = new Pending();
        while (true)
        {
            if (_ended || !await ReadBlockAsync(cancellationToken))
            {
                return End();
            }
            var record = Parse(pending);
            if (record is not { } meta)
            {
                return End();
            }
            if (meta.Entry is { } entry)
            {
                return entry;
            }
            if (meta.Size > MaxHeaderBytes)
            {
                pending.Oversized ??= Describe(meta.Type, meta.Size);
                await SkipAsync(Padded(meta.Size), cancellationToken);
                continue;
            }
            var data = ArrayPool<byte>.Shared.Rent((int)meta.Size);
            try
            {
                await _stream.ReadExactlyAsync(data.AsMemory(0, (int)meta.Size), cancellationToken);
                await SkipAsync(Padded(meta.Size) - meta.Size, cancellationToken);
                pending.Apply(meta.Type, data.AsSpan(0, (int)meta.Size), _global);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(data);
            }
        }
    }

    public void Dispose()
    {
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }

    public ValueTask DisposeAsync() => _leaveOpen ? ValueTask.CompletedTask : _stream.DisposeAsync();

    /// <summary>Bytes of the current entry not yet read, plus its padding to the block.</summary>
    private long Remaining()
    {
        var left = (_current?.Left ?? 0) + _padding;
        _current = null;
        _padding = 0;
        return left;
    }

    private TarMember? End()
    {
        _ended = true;
        _current = null;
        return null;
    }

    private static string Describe(char type, long size) => type switch
    {
        'L' => $"a GNU long name record of {size:N0} bytes",
        'K' => $"a GNU long link record of {size:N0} bytes",
        'g' => $"a pax global header of {size:N0} bytes",
        _ => $"a pax extended header of {size:N0} bytes",
    } + $" (the bound is {MaxHeaderBytes:N0}) was skipped unread";

    private static long Padded(long size) => (size + Block - 1) / Block * Block;

    /// <summary>The header block just read: a metadata record to read or skip, an entry, or null at the end marker.</summary>
    private (char Type, long Size, TarMember? Entry)? Parse(Pending pending)
    {
        var h = _header.AsSpan();
        if (!h.ContainsAnyExcept((byte)0))
        {
            return null; // tarfile stops at the first zero block (without ignore_zeros)
        }
        VerifyChecksum(h);
        var type = (char)h[156];
        var size = Number(h.Slice(124, 12), "size");
        if (size < 0)
        {
            throw new InvalidDataException($"A tar header declares a negative size ({size}).");
        }
        if (type is 'L' or 'K' or 'x' or 'g')
        {
            return (type, size, null);
        }
        var name = Text(h[..100]);
        // POSIX ustar ("ustar\0"): a prefix field completes the name; GNU ("ustar  ") and v7 have none there.
        if (h.Slice(257, 6).SequenceEqual("ustar\0"u8) && Text(h.Slice(345, 155)) is { Length: > 0 } prefix)
        {
            name = prefix + "/" + name;
        }
        name = pending.Name ?? name;
        var link = pending.Link ?? Text(h.Slice(157, 100));
        size = pending.Size ?? size;
        // An old-style regular file whose name ends in '/' is a directory (TarInfo.frombuf).
        var kind = type switch
        {
            '\0' when name.EndsWith('/') => TarMemberKind.Directory,
            '0' or '\0' or '7' => TarMemberKind.File,
            '5' => TarMemberKind.Directory,
            '2' => TarMemberKind.Symlink,
            '1' => TarMemberKind.Hardlink,
            _ => TarMemberKind.Special,
        };
        // tarfile skips data only for regular files and types it does not know; links, dirs and devices have none.
        var hasData = kind == TarMemberKind.File || (kind == TarMemberKind.Special && type is not ('3' or '4' or '6'));
        _current = new EntryStream(_stream, hasData ? size : 0);
        _padding = hasData ? Padded(size) - size : 0;
        return (type, size, new TarMember(name, type, kind, hasData ? size : 0, link, pending.Oversized));
    }

    private static void VerifyChecksum(ReadOnlySpan<byte> h)
    {
        var stored = Number(h.Slice(148, 8), "checksum");
        long unsigned = 8 * ' ', signed = 8 * ' ';
        for (var i = 0; i < Block; i++)
        {
            if (i is >= 148 and < 156)
            {
                continue;
            }
            unsigned += h[i];
            signed += (sbyte)h[i];
        }
        if (stored != unsigned && stored != signed)
        {
            throw new InvalidDataException("A tar header's checksum does not match.");
        }
    }

    /// <summary>An octal field (NUL- or space-terminated), or GNU base-256 when the first byte is 0x80 or 0xff (tarfile.nti).</summary>
    private static long Number(ReadOnlySpan<byte> field, string what)
    {
        if (field[0] is 0x80 or 0xff)
        {
            long n = 0;
            foreach (var b in field[1..])
            {
                n = n <= long.MaxValue >> 8 ? (n << 8) | b : throw new InvalidDataException($"A tar header's {what} is out of range.");
            }
            return field[0] == 0xff ? -1 : n;
        }
        var nul = field.IndexOf((byte)0);
        var digits = (nul < 0 ? field : field[..nul]).Trim(" \t\n\r\v\f"u8);
        long value = 0;
        foreach (var d in digits)
        {
            if (d is < (byte)'0' or > (byte)'7' || value > long.MaxValue >> 3)
            {
                throw new InvalidDataException($"A tar header's {what} field is not an octal number.");
            }
            value = value * 8 + (d - '0');
        }
        return value;
    }

    private static string Text(ReadOnlySpan<byte> field)
    {
        var nul = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? field : field[..nul]);
    }

    private bool ReadBlock()
    {
        var read = _stream.ReadAtLeast(_header, Block, throwOnEndOfStream: false);
        return Complete(read);
    }

    private async ValueTask<bool> ReadBlockAsync(CancellationToken cancellationToken)
    {
        var read = await _stream.ReadAtLeastAsync(_header, Block, throwOnEndOfStream: false, cancellationToken);
        return Complete(read);
    }

    // The stream's end on a block boundary ends the archive (tarfile accepts a missing end marker); inside a block it is truncated.
    private static bool Complete(int read) => read == Block || (read == 0 ? false : throw new EndOfStreamException("The tar archive ends inside a header."));

    // A seek past the end would succeed on a file and throw on a MemoryStream; either way the member's data is not there.
    private void SeekPast(long count)
    {
        if (count > _stream.Length - _stream.Position)
        {
            throw new EndOfStreamException("The tar archive ends inside an entry.");
        }
        _stream.Seek(count, SeekOrigin.Current);
    }

    private void Skip(long count)
    {
        if (count <= 0)
        {
            return;
        }
        if (_stream.CanSeek)
        {
            SeekPast(count);
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            while (count > 0)
            {
                var n = _stream.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
                count -= n > 0 ? n : throw new EndOfStreamException("The tar archive ends inside an entry.");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async ValueTask SkipAsync(long count, CancellationToken cancellationToken)
    {
        if (count <= 0)
        {
            return;
        }
        if (_stream.CanSeek)
        {
            SeekPast(count);
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            while (count > 0)
            {
                var n = await _stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken);
                count -= n > 0 ? n : throw new EndOfStreamException("The tar archive ends inside an entry.");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>What the metadata records before an entry say about it.</summary>
    private sealed class Pending
    {
        private Dictionary<string, string>? _pax;

        public string? Name;
        public string? Link;
        public long? Size;
        public string? Oversized;

        public void Apply(char type, ReadOnlySpan<byte> data, Dictionary<string, string> global)
        {
            switch (type)
            {
                case 'L':
                    Name ??= Text(data);
                    break;
                case 'K':
                    Link ??= Text(data);
                    break;
                case 'g':
                    ParsePax(data, global);
                    break;
                default:
                    // _proc_pax: a local header starts from the global ones, and its values apply to the next entry.
                    _pax = new Dictionary<string, string>(global, StringComparer.Ordinal);
                    ParsePax(data, _pax);
                    if (_pax.TryGetValue("path", out var path))
                    {
                        Name ??= path;
                    }
                    if (_pax.TryGetValue("linkpath", out var linkpath))
                    {
                        Link ??= linkpath;
                    }
                    if (_pax.TryGetValue("size", out var size))
                    {
                        Size ??= long.TryParse(size, System.Globalization.NumberStyles.None, null, out var n)
                            ? n
                            : throw new InvalidDataException($"A pax size record is not a number ({size}).");
                    }
                    break;
            }
        }

        /// <summary>Records "length key=value\n", the length counting the whole record (POSIX pax, tarfile._proc_pax).</summary>
        private static void ParsePax(ReadOnlySpan<byte> data, Dictionary<string, string> into)
        {
            while (data.Length > 0 && data[0] != 0)
            {
                var space = data.IndexOf((byte)' ');
                if (space <= 0 || !int.TryParse(data[..space], System.Globalization.NumberStyles.None, null, out var length)
                    || length <= space + 1 || length > data.Length || data[length - 1] != '\n')
                {
                    throw new InvalidDataException("A pax extended header holds a malformed record.");
                }
                var record = data[(space + 1)..(length - 1)];
                var equals = record.IndexOf((byte)'=');
                if (equals <= 0)
                {
                    throw new InvalidDataException("A pax extended header holds a record without a key.");
                }
                into[Encoding.UTF8.GetString(record[..equals])] = Encoding.UTF8.GetString(record[(equals + 1)..]);
                data = data[length..];
            }
        }
    }

    /// <summary>Exactly one entry's data from the archive stream; an archive that ends early is an error, not a short file.</summary>
    private sealed class EntryStream(Stream archive, long size) : Stream
    {
        private readonly long _length = size;

        public long Left { get; private set; } = size;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => _length;
        public override long Position { get => _length - Left; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (Left == 0 || buffer.Length == 0)
            {
                return 0;
            }
            return Count(archive.Read(buffer[..(int)Math.Min(buffer.Length, Left)]));
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Left == 0 || buffer.Length == 0)
            {
                return 0;
            }
            return Count(await archive.ReadAsync(buffer[..(int)Math.Min(buffer.Length, Left)], cancellationToken));
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Count(int read)
        {
            if (read == 0)
            {
                throw new EndOfStreamException("The tar archive ends inside an entry's data.");
            }
            Left -= read;
            return read;
        }
    }
}
