using System.Buffers.Binary;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// A forward reader over a stream with its own buffer, for walking binary headers (GGUF metadata, protobuf): fixed
/// integers in either byte order, varints, and skips that seek when the stream can and read through when it cannot.
/// Every read checks what is left, so a length in the file never turns into an allocation or a read past the end.
/// </summary>
internal sealed class ByteCursor
{
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[1 << 16];
    private int _offset;
    private int _count;
    private long _bufferStart;

    /// <param name="length">Bytes from the current position to the end (long.MaxValue when unknown).</param>
    public ByteCursor(Stream stream, long length)
    {
        _stream = stream;
        Length = length;
        _bufferStart = 0;
    }

    public bool BigEndian { get; set; }

    /// <summary>Bytes consumed since the cursor was made.</summary>
    public long Position => _bufferStart + _offset;

    public long Length { get; }

    public long Remaining => Length == long.MaxValue ? long.MaxValue : Length - Position;

    public byte ReadByte()
    {
        Ensure(1);
        return _buffer[_offset++];
    }

    public ushort ReadUInt16() => BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(Take(2)) : BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

    public uint ReadUInt32() => BigEndian ? BinaryPrimitives.ReadUInt32BigEndian(Take(4)) : BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public ulong ReadUInt64() => BigEndian ? BinaryPrimitives.ReadUInt64BigEndian(Take(8)) : BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    /// <summary>A protobuf base-128 varint (at most 10 bytes).</summary>
    public ulong ReadVarint()
    {
        ulong value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = ReadByte();
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }
        throw new InvalidDataException("A varint is longer than 10 bytes.");
    }

    /// <summary>Reads <paramref name="count"/> bytes into a new array; callers bound the count first.</summary>
    public byte[] ReadBytes(int count)
    {
        Require(count);
        var result = new byte[count];
        var copied = 0;
        while (copied < count)
        {
            if (_offset == _count)
            {
                Fill();
            }
            var n = Math.Min(count - copied, _count - _offset);
            Buffer.BlockCopy(_buffer, _offset, result, copied, n);
            _offset += n;
            copied += n;
        }
        return result;
    }

    public void Skip(long count)
    {
        Require(count);
        var inBuffer = Math.Min(count, _count - _offset);
        _offset += (int)inBuffer;
        count -= inBuffer;
        if (count == 0)
        {
            return;
        }
        if (_stream.CanSeek)
        {
            _stream.Seek(count, SeekOrigin.Current);
            _bufferStart += _count + count;
            _offset = 0;
            _count = 0;
            return;
        }
        while (count > 0)
        {
            Fill();
            var n = (int)Math.Min(count, _count);
            _offset += n;
            count -= n;
        }
    }

    /// <summary>Fails unless <paramref name="count"/> more bytes exist.</summary>
    public void Require(long count)
    {
        if (count < 0 || count > Remaining)
        {
            throw new InvalidDataException($"A length of {count:N0} bytes runs past the end ({Remaining:N0} left).");
        }
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        Ensure(count);
        var span = _buffer.AsSpan(_offset, count);
        _offset += count;
        return span;
    }

    private void Ensure(int count)
    {
        if (_count - _offset >= count)
        {
            return;
        }
        Require(count);
        var left = _count - _offset;
        Buffer.BlockCopy(_buffer, _offset, _buffer, 0, left);
        _bufferStart += _offset;
        _offset = 0;
        _count = left;
        while (_count < count)
        {
            var n = _stream.Read(_buffer, _count, _buffer.Length - _count);
            if (n == 0)
            {
                throw new EndOfStreamException("The content ends in the middle of a header.");
            }
            _count += n;
        }
    }

    private void Fill()
    {
        _bufferStart += _count;
        _offset = 0;
        _count = _stream.Read(_buffer, 0, _buffer.Length);
        if (_count == 0)
        {
            throw new EndOfStreamException("The content ends in the middle of a header.");
        }
    }
}
