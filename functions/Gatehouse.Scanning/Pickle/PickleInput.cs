using System.Buffers;
using System.Runtime.CompilerServices;

namespace Gatehouse.Scanning.Pickle;

/// <summary>
/// A forward-only buffered reader over a pickle stream that knows where the current FRAME ends. It never seeks and never
/// allocates a length the file claims: long arguments are either accumulated as the bytes actually arrive (up to a cap)
/// or skipped in chunks.
/// </summary>
internal sealed class PickleInput : IDisposable
{
    private const int BufferSize = 64 * 1024;

    private readonly Stream _stream;
    private byte[] _buffer;
    private int _pos;
    private int _len;
    private int _limit; // fast-path end: min(_len, frame end inside the buffer)
    private long _bufferStart; // absolute offset of _buffer[0]
    private long _frameEnd = -1;
    private bool _eof;

    public PickleInput(Stream stream, long baseOffset)
    {
        _stream = stream;
        _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        _bufferStart = baseOffset;
    }

    /// <summary>Absolute offset of the next byte.</summary>
    public long Position => _bufferStart + _pos;

    /// <summary>Set when the underlying stream threw (a corrupt compressed stream, an I/O error); reads then end.</summary>
    public Exception? StreamError { get; private set; }

    /// <summary>True while a FRAME is open and not yet consumed.</summary>
    public bool InFrame => _frameEnd >= 0;

    public long FrameEnd => _frameEnd;

    /// <summary>Set when a read ran past the end of the declared frame (the frame is then closed).</summary>
    public long FrameOverrunAt { get; private set; } = -1;

    public void ClearFrameOverrun() => FrameOverrunAt = -1;

    /// <summary>Opens a frame of <paramref name="length"/> bytes at the current position.</summary>
    public void BeginFrame(long length)
    {
        _frameEnd = length > long.MaxValue - Position ? long.MaxValue : Position + length;
        UpdateLimit();
    }

    /// <summary>Forgets the current frame (used around reads the loader makes outside the unpickler's framing).</summary>
    public long SuspendFrame()
    {
        var end = _frameEnd;
        _frameEnd = -1;
        UpdateLimit();
        return end;
    }

    public void ResumeFrame(long frameEnd)
    {
        _frameEnd = frameEnd >= 0 && frameEnd > Position ? frameEnd : -1;
        UpdateLimit();
    }

    /// <summary>Reads the next opcode byte, or -1 at the end of the stream.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadOpcode() => _pos < _limit ? _buffer[_pos++] : ReadOpcodeSlow();

    private int ReadOpcodeSlow()
    {
        if (_frameEnd >= 0 && Position >= _frameEnd)
        {
            // An opcode that starts exactly at the frame end: the frame was consumed cleanly.
            _frameEnd = -1;
            UpdateLimit();
        }
        if (_pos >= _len && !Fill(1))
        {
            return -1;
        }
        UpdateLimit();
        return _buffer[_pos++];
    }

    /// <summary>Peeks the next byte without consuming it; -1 at the end.</summary>
    public int Peek()
    {
        if (_pos < _len)
        {
            return _buffer[_pos];
        }
        return Fill(1) ? _buffer[_pos] : -1;
    }

    /// <summary>
    /// Reads <paramref name="count"/> argument bytes (at most the buffer size) and returns them as a span valid until the
    /// next read; false when the stream ends first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryRead(int count, out ReadOnlySpan<byte> bytes)
    {
        if (_pos + count <= _limit)
        {
            bytes = new ReadOnlySpan<byte>(_buffer, _pos, count);
            _pos += count;
            return true;
        }
        return TryReadSlow(count, out bytes);
    }

    private bool TryReadSlow(int count, out ReadOnlySpan<byte> bytes)
    {
        CheckFrame(count);
        if (_len - _pos < count && !Fill(count))
        {
            bytes = default;
            return false;
        }
        bytes = new ReadOnlySpan<byte>(_buffer, _pos, count);
        _pos += count;
        UpdateLimit();
        return true;
    }

    /// <summary>
    /// Reads a line up to and including '\n' (at most <paramref name="maxLength"/> bytes). Returns the line without the
    /// newline; <paramref name="status"/> tells truncation (no newline before the end) or an over-long line.
    /// </summary>
    public bool TryReadLine(int maxLength, out ReadOnlySpan<byte> line, out LineStatus status)
    {
        var start = _pos;
        var scanned = 0;
        while (true)
        {
            var index = new ReadOnlySpan<byte>(_buffer, start + scanned, _len - start - scanned).IndexOf((byte)'\n');
            if (index >= 0)
            {
                var length = scanned + index;
                if (length > maxLength)
                {
                    break;
                }
                CheckFrame(length + 1);
                line = new ReadOnlySpan<byte>(_buffer, start, length);
                _pos = start + length + 1;
                UpdateLimit();
                status = LineStatus.Ok;
                return true;
            }
            scanned = _len - start;
            if (scanned > maxLength)
            {
                break;
            }
            // Keep the partial line in the buffer and read more.
            _pos = start;
            if (!Fill(scanned + 1))
            {
                _pos = _len; // consume what there was
                line = default;
                status = LineStatus.Truncated;
                return false;
            }
            start = _pos;
        }
        line = default;
        status = LineStatus.TooLong;
        return false;
    }

    /// <summary>
    /// Consumes <paramref name="count"/> bytes of an argument. When <paramref name="keepAtMost"/> allows, the content is
    /// returned (accumulated as it arrives, so a false length never allocates); otherwise it is skipped and only a
    /// prefix is kept. Returns the number of bytes actually consumed (less than <paramref name="count"/> at the end).
    /// </summary>
    public long ReadArgument(long count, int keepAtMost, int prefixLength, out byte[] kept)
    {
        CheckFrame(count);
        if (count <= keepAtMost)
        {
            var target = count <= BufferSize ? new byte[count] : null;
            if (target is not null)
            {
                var got = ReadInto(target);
                kept = got == count ? target : target.AsSpan(0, got).ToArray();
                UpdateLimit();
                return got;
            }
            // Large but allowed: grow with the data, never to the claimed size up front.
            var grown = new ArrayBufferWriter<byte>(BufferSize);
            long total = 0;
            while (total < count)
            {
                if (_pos >= _len && !Fill(1))
                {
                    break;
                }
                var take = (int)Math.Min(_len - _pos, count - total);
                grown.Write(new ReadOnlySpan<byte>(_buffer, _pos, take));
                _pos += take;
                total += take;
            }
            kept = grown.WrittenSpan.ToArray();
            UpdateLimit();
            return total;
        }
        var prefix = new byte[Math.Min(prefixLength, count)];
        var prefixGot = ReadInto(prefix);
        long consumed = prefixGot;
        if (prefixGot == prefix.Length)
        {
            consumed += SkipRaw(count - prefixGot);
        }
        kept = prefixGot == prefix.Length ? prefix : prefix.AsSpan(0, prefixGot).ToArray();
        UpdateLimit();
        return consumed;
    }

    /// <summary>Skips raw bytes (no frame checks); returns how many were skipped.</summary>
    public long SkipRaw(long count)
    {
        long skipped = 0;
        while (skipped < count)
        {
            if (_pos >= _len && !Fill(1))
            {
                break;
            }
            var take = (int)Math.Min(_len - _pos, count - skipped);
            _pos += take;
            skipped += take;
        }
        UpdateLimit();
        return skipped;
    }

    /// <summary>Reads up to <paramref name="count"/> raw bytes (no frame checks); fewer at the end.</summary>
    public byte[] ReadRaw(int count)
    {
        var target = new byte[Math.Max(0, count)];
        var got = ReadInto(target);
        UpdateLimit();
        return got == target.Length ? target : target[..got];
    }

    /// <summary>Reads one raw byte (no frame checks); -1 at the end.</summary>
    public int ReadRawByte()
    {
        if (_pos >= _len && !Fill(1))
        {
            return -1;
        }
        var b = _buffer[_pos++];
        UpdateLimit();
        return b;
    }

    /// <summary>Gives read-ahead back to a seekable stream so that it is positioned at <see cref="Position"/>.</summary>
    public void ReturnReadAhead()
    {
        var unread = _len - _pos;
        if (unread > 0 && _stream.CanSeek)
        {
            _stream.Seek(-unread, SeekOrigin.Current);
            _bufferStart += _len;
            _bufferStart -= unread;
            _len = _pos = _limit = 0;
        }
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _len = _pos = _limit = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private int ReadInto(Span<byte> target)
    {
        var got = 0;
        while (got < target.Length)
        {
            if (_pos >= _len && !Fill(1))
            {
                break;
            }
            var take = Math.Min(_len - _pos, target.Length - got);
            new ReadOnlySpan<byte>(_buffer, _pos, take).CopyTo(target[got..]);
            _pos += take;
            got += take;
        }
        return got;
    }

    private void CheckFrame(long count)
    {
        if (_frameEnd >= 0 && Position + count > _frameEnd)
        {
            if (Position >= _frameEnd)
            {
                _frameEnd = -1; // the frame ended exactly at the opcode boundary
            }
            else
            {
                FrameOverrunAt = Position;
                _frameEnd = -1; // reported once; from here on read linearly, as the C unpickler does
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void UpdateLimit()
    {
        if (_frameEnd >= 0)
        {
            var frameInBuffer = _frameEnd - _bufferStart;
            _limit = frameInBuffer < _len ? (int)Math.Max(frameInBuffer, _pos) : _len;
        }
        else
        {
            _limit = _len;
        }
    }

    /// <summary>Makes at least <paramref name="needed"/> bytes available from _pos (compacting first); false at the end.</summary>
    private bool Fill(int needed)
    {
        if (_eof)
        {
            return _len - _pos >= needed;
        }
        if (_pos > 0)
        {
            var remaining = _len - _pos;
            if (remaining > 0)
            {
                Buffer.BlockCopy(_buffer, _pos, _buffer, 0, remaining);
            }
            _bufferStart += _pos;
            _len = remaining;
            _pos = 0;
        }
        if (needed > _buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
            Buffer.BlockCopy(_buffer, 0, bigger, 0, _len);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
        while (_len < needed)
        {
            int n;
            try
            {
                n = _stream.Read(_buffer, _len, _buffer.Length - _len);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                StreamError = ex;
                n = 0;
            }
            if (n <= 0)
            {
                _eof = true;
                UpdateLimit();
                return _len >= needed;
            }
            _len += n;
        }
        UpdateLimit();
        return true;
    }
}

internal enum LineStatus
{
    Ok,
    Truncated,
    TooLong,
}
