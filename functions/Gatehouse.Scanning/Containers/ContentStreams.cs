namespace Gatehouse.Scanning.Containers;

/// <summary>A read-only, forward-only stream: the shape every member stream takes.</summary>
public abstract class ForwardStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public abstract override int Read(Span<byte> buffer);
}

/// <summary>The head already read for sniffing, followed by the rest of the stream: the content exactly once.</summary>
public sealed class PrefixedStream(byte[] head, int headLength, Stream rest) : ForwardStream
{
    private int _position;

    public override int Read(Span<byte> buffer)
    {
        if (_position < headLength)
        {
            var n = Math.Min(buffer.Length, headLength - _position);
            head.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }
        return rest.Read(buffer);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _position < headLength ? Read(buffer.Span) : await rest.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
}

/// <summary>A byte range of a seekable stream, itself seekable; nothing is copied.</summary>
internal sealed class WindowStream(Stream seekable, long offset, long length) : Stream
{
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _position; set => _position = Math.Clamp(value, 0, length); }
    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var left = length - _position;
        if (left <= 0)
        {
            return 0;
        }
        if (buffer.Length > left)
        {
            buffer = buffer[..(int)left];
        }
        seekable.Position = offset + _position;
        var n = seekable.Read(buffer);
        _position += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => length + offset,
        };
        return _position;
    }
}

/// <summary>Counts the bytes a decompressor pulls from its input, for the compression ratio.</summary>
internal sealed class CountingStream(Stream inner) : ForwardStream
{
    public long BytesRead { get; private set; }

    /// <summary>Readable (decoders such as xz align blocks by it); setting it is not supported.</summary>
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        BytesRead += n;
        return n;
    }
}

/// <summary>
/// The output side of every decompressor: charges the file's decompression budget, stops a bomb by ratio, honours the
/// deadline, and optionally ends the content at the size its header declares (what the loader reads, no more).
/// </summary>
internal sealed class GuardedStream : ForwardStream
{
    /// <summary>Below this much output the ratio is not judged: tiny runs of zeros compress absurdly well.</summary>
    private const long RatioFloor = 1024 * 1024;

    private readonly Stream _inner;
    private readonly ScanContext _context;
    private readonly string? _path;
    private readonly Func<long> _compressedBytes;
    private readonly long? _declaredLength;
    private readonly long _priorOutput;
    private ScanLimitException? _tripped;

    /// <param name="compressedBytes">How much compressed input has produced the output so far.</param>
    /// <param name="declaredLength">Where the loader stops reading, when a header says so.</param>
    /// <param name="priorOutput">Output already produced from the same compressed input (earlier members of a solid archive).</param>
    public GuardedStream(Stream inner, ScanContext context, string? path, Func<long> compressedBytes, long? declaredLength = null, long priorOutput = 0)
    {
        _inner = inner;
        _context = context;
        _path = path;
        _compressedBytes = compressedBytes;
        _declaredLength = declaredLength;
        _priorOutput = priorOutput;
    }

    public long BytesWritten { get; private set; }

    /// <summary>True when the decompressor had more output than the declared length (seen only if a read asked past it).</summary>
    public bool ExceededDeclaredLength { get; private set; }

    public override int Read(Span<byte> buffer)
    {
        _context.ThrowIfCancelled();
        if (_tripped is not null)
        {
            // A reader that caught the limit and read on gets the same answer, not more bombs.
            throw _tripped;
        }
        if (_declaredLength is { } declared)
        {
            var left = declared - BytesWritten;
            if (left <= 0)
            {
                if (!ExceededDeclaredLength && buffer.Length > 0)
                {
                    Span<byte> probe = stackalloc byte[1];
                    ExceededDeclaredLength = _inner.Read(probe) > 0;
                }
                return 0;
            }
            if (buffer.Length > left)
            {
                buffer = buffer[..(int)left];
            }
        }
        var n = _inner.Read(buffer);
        if (n > 0)
        {
            BytesWritten += n;
            try
            {
                _context.ChargeDecompressed(n, _path);
            }
            catch (ScanLimitException e)
            {
                _tripped = e;
                throw;
            }
            var compressed = Math.Max(1, _compressedBytes());
            var output = _priorOutput + BytesWritten;
            if (output > RatioFloor && output > _context.Limits.MaxCompressionRatio * compressed)
            {
                throw _tripped = _context.LimitExceeded(ContainerRules.CompressionRatio,
                    $"Decompresses more than {_context.Limits.MaxCompressionRatio:N0} times its compressed size (a decompression bomb); the rest was not scanned.", _path);
            }
        }
        return n;
    }

    /// <summary>Reads to the end, for content that is measured but not parsed.</summary>
    public void Drain()
    {
        var buffer = new byte[81920];
        while (Read(buffer) > 0)
        {
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>Copies content that a reader needs to seek into memory, or into a temporary file when it is large.</summary>
internal static class SeekableCopy
{
    // Small: several scans run at once in one host, and a memory stream that doubles to this bound holds 1.5 times it
    // while it copies; a member past it is read from a temp file (counted against the temp budget) instead.
    private const int InMemory = 8 * 1024 * 1024;

    /// <summary>Returns <paramref name="content"/> itself when it can already seek.</summary>
    public static Stream From(Stream content, ScanContext context)
    {
        if (content.CanSeek)
        {
            return content;
        }
        var memory = new MemoryStream();
        var buffer = new byte[81920];
        int n;
        while ((n = content.Read(buffer)) > 0)
        {
            context.ThrowIfCancelled();
            // Spill before the memory stream would grow past the bound (it doubles its buffer: 8 MiB would become 16).
            if (memory.Length + n > InMemory || memory.Length + n > context.Limits.MaxTempBytes)
            {
                return SpillToFile(memory, n, content, buffer, context);
            }
            memory.Write(buffer, 0, n);
        }
        memory.Position = 0;
        return memory;
    }

    /// <param name="pending">Bytes read into <paramref name="buffer"/> that are in neither the memory stream nor the file yet.</param>
    private static FileStream SpillToFile(MemoryStream memory, int pending, Stream content, byte[] buffer, ScanContext context)
    {
        var file = new FileStream(Path.Combine(Path.GetTempPath(), $"gatehouse-scan-{Guid.NewGuid():N}.tmp"), FileMode.CreateNew,
            FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        try
        {
            context.ChargeTemp(memory.Length + pending, null);
            memory.Position = 0;
            memory.CopyTo(file);
            file.Write(buffer, 0, pending);
            int n;
            while ((n = content.Read(buffer)) > 0)
            {
                context.ThrowIfCancelled();
                context.ChargeTemp(n, null);
                file.Write(buffer, 0, n);
            }
            file.Position = 0;
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }
}
