namespace Gatehouse.UpstreamSimulator.HuggingFace;

/// <summary>
/// In-memory body that runs a callback once, just before the first byte is read (after the framework has
/// set status and headers): used to count body starts and apply <c>/_sim/delay</c> with headers already sent.
/// HEAD and 304 never read, so they are never counted.
/// </summary>
internal sealed class HfBodyStream(byte[] bytes, Func<CancellationToken, Task> beforeFirstRead) : MemoryStream(bytes, writable: false)
{
    private bool _started;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken);
        return await base.ReadAsync(buffer, cancellationToken);
    }

    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        await StartAsync(cancellationToken);
        return await base.ReadAsync(buffer, offset, count, cancellationToken);
    }

    public override async Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
    {
        await StartAsync(cancellationToken);
        await base.CopyToAsync(destination, bufferSize, cancellationToken);
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
