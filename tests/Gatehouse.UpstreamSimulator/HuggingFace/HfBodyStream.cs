namespace Gatehouse.UpstreamSimulator.HuggingFace;

/// <summary>
/// The served body over a file's content stream: runs a callback once, just before the first byte is read (after the
/// framework has set status and headers), to count body starts and apply <c>/_sim/delay</c> with headers already sent;
/// flips the byte at <c>flippedByteAt</c> (a tampered blob; -1 for none); and, given <c>bytesPerSecond</c>, hands out
/// about a tenth of a second's worth per read and waits until the bytes sent so far are due (a slow upstream). HEAD and
/// 304 never read, so they are never counted. Seekable, so ASP.NET serves ranges from it.
/// </summary>
internal sealed class HfBodyStream(Stream content, long flippedByteAt, Func<CancellationToken, Task> beforeFirstRead, long? bytesPerSecond = null) : Stream
{
    private readonly int _chunk = bytesPerSecond is { } rate ? (int)Math.Clamp(rate / 10, 1, 1 << 20) : int.MaxValue;
    private bool _started;
    private long _startedAt;
    private long _sent;

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
        var n = await content.ReadAsync(buffer[..Math.Min(buffer.Length, _chunk)], cancellationToken);
        Flip(at, buffer.Span[..n]);
        if (Due(n) is { } wait)
        {
            await Task.Delay(wait, cancellationToken);
        }

        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        var at = content.Position;
        var n = content.Read(buffer, offset, Math.Min(count, _chunk));
        Flip(at, buffer.AsSpan(offset, n));
        if (Due(n) is { } wait)
        {
            Thread.Sleep(wait);
        }

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
        _startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
    }

    /// <summary>Counts <paramref name="read"/> bytes as sent; how long until they were due at the paced rate, or null.</summary>
    private TimeSpan? Due(int read)
    {
        if (bytesPerSecond is not { } rate)
        {
            return null;
        }

        _sent += read;
        var wait = TimeSpan.FromSeconds(_sent / (double)rate) - System.Diagnostics.Stopwatch.GetElapsedTime(_startedAt);
        return wait > TimeSpan.Zero ? wait : null;
    }
}
