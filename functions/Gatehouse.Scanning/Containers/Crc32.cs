namespace Gatehouse.Scanning.Containers;

/// <summary>CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) as zip stores it, eight bytes per step.</summary>
internal sealed class Crc32
{
    private static readonly uint[][] Tables = BuildTables();

    private uint _state = 0xFFFFFFFF;

    public uint Value => ~_state;

    public void Append(ReadOnlySpan<byte> data)
    {
        var crc = _state;
        var t = Tables;
        while (data.Length >= 8)
        {
            var low = crc ^ (uint)(data[0] | data[1] << 8 | data[2] << 16 | data[3] << 24);
            crc = t[7][low & 0xFF] ^ t[6][(low >> 8) & 0xFF] ^ t[5][(low >> 16) & 0xFF] ^ t[4][low >> 24]
                ^ t[3][data[4]] ^ t[2][data[5]] ^ t[1][data[6]] ^ t[0][data[7]];
            data = data[8..];
        }
        foreach (var b in data)
        {
            crc = t[0][(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        _state = crc;
    }

    private static uint[][] BuildTables()
    {
        var tables = new uint[8][];
        for (var k = 0; k < 8; k++)
        {
            tables[k] = new uint[256];
        }
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var bit = 0; bit < 8; bit++)
            {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }
            tables[0][i] = c;
        }
        for (var i = 0; i < 256; i++)
        {
            for (var k = 1; k < 8; k++)
            {
                tables[k][i] = tables[0][tables[k - 1][i] & 0xFF] ^ (tables[k - 1][i] >> 8);
            }
        }
        return tables;
    }
}

/// <summary>
/// Computes the CRC-32 of the content read through it, front to back. It seeks when its inner stream does (a stored
/// zip member stays seekable); once it has been seeked, the CRC no longer describes the content and is not judged.
/// </summary>
internal sealed class CrcStream(Stream inner) : Stream
{
    private Crc32 _crc = new();
    private bool _sequential = true;
    private bool _reachedEnd;

    public long BytesRead { get; private set; }

    /// <summary>True once the whole content was read in order: only then is <see cref="Crc"/> its CRC.</summary>
    public bool ReachedEnd => _reachedEnd && _sequential;

    public uint Crc => _crc.Value;

    public override bool CanRead => true;
    public override bool CanSeek => inner.CanSeek;
    public override bool CanWrite => false;
    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set
        {
            Moved(inner.Position, value);
            inner.Position = value;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        if (n == 0 && buffer.Length > 0)
        {
            _reachedEnd = true;
        }
        _crc.Append(buffer[..n]);
        BytesRead += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        var before = inner.Position;
        var after = inner.Seek(offset, origin);
        Moved(before, after);
        return after;
    }

    /// <summary>Back to the start restarts the CRC (readers re-read after sniffing); anywhere else abandons it.</summary>
    private void Moved(long from, long to)
    {
        if (to == 0)
        {
            _crc = new Crc32();
            _sequential = true;
            _reachedEnd = false;
            BytesRead = 0;
        }
        else if (to != from)
        {
            _sequential = false;
        }
    }

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
