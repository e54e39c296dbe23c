namespace Gatehouse.UpstreamSimulator.HuggingFace;

/// <summary>
/// The served body over a file's content stream: runs a callback once, just before the first byte is read (after the
/// framework has set status and headers), to count body starts and apply <c>/_sim/delay</c> with headers already sent;
/// and flips the byte at <c>flippedByteAt</c> (a tampered blob; -1 for none). HEAD and 304 never read, so they are
/// never counted. Seekable, so ASP.NET serves ranges from it.
/// </summary>
internal sealed class HfBodyStream(Stream content, long flippedByteAt, Func<CancellationToken, Task> beforeFirstRead) : Stream
{
    private bool _started;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => content.Length;

    public override long Position
    {
        get => content.Position;
        set => content.Position = value;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken);
        var at = content.Position;
        var n = await content.ReadAsync(buffer, cancellationToken);
        Flip(at, buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        var at = content.Position;
        var n = content.Read(buffer, offset, count);
        Flip(at, buffer.AsSpan(offset, n));
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin) => content.Seek(offset, origin);

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            content.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Flip(long at, Span<byte> read)
    {
        if (flippedByteAt >= at && flippedByteAt < at + read.Length)
        {
            read[(int)(flippedByteAt - at)] ^= 0xFF;
        }
    }

    private async Task StartAsync(CancellationToken ct)
    {
        if (_started)
        {
            return;
        }

        _started = true;
        await beforeFirstRead(ct);
    }
}
