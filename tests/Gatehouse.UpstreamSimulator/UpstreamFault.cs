using System.Globalization;

namespace Gatehouse.UpstreamSimulator;

/// <summary>How an upstream misbehaves on the paths a fault is set for.</summary>
public enum UpstreamFaultKind
{
    /// <summary>200 with a body of <see cref="UpstreamFault.Bytes"/> bytes sent chunked (no <c>Content-Length</c>).</summary>
    Flood,

    /// <summary>200 declaring <see cref="UpstreamFault.Bytes"/> bytes, sending half of them, then dropping the connection.</summary>
    Short,

    /// <summary>302 to <see cref="UpstreamFault.Location"/>.</summary>
    Redirect,
}

/// <summary>A fault answered instead of the real response.</summary>
public sealed record UpstreamFault(UpstreamFaultKind Kind, long Bytes = 0, string? Location = null, string ContentType = "application/json")
{
    private static readonly byte[] Filler = "[\"gatehouse-simulator-flood\",                                 "u8.ToArray();

    /// <summary>Writes the fault's answer.</summary>
    public async Task WriteAsync(HttpContext context)
    {
        var response = context.Response;
        switch (Kind)
        {
            case UpstreamFaultKind.Redirect:
                response.StatusCode = StatusCodes.Status302Found;
                response.Headers.Location = Location;
                return;
            case UpstreamFaultKind.Short:
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentType = ContentType;
                response.ContentLength = Bytes;
                await WriteFillerAsync(response, Bytes / 2, context.RequestAborted);
                await response.Body.FlushAsync(context.RequestAborted);
                // Let the client read what was sent before the reset, which would discard it from the socket's buffer.
                await Task.Delay(TimeSpan.FromMilliseconds(300), context.RequestAborted);
                context.Abort();
                return;
            default:
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentType = ContentType;
                await WriteFillerAsync(response, Bytes, context.RequestAborted);
                return;
        }
    }

    public override string ToString() => Kind switch
    {
        UpstreamFaultKind.Redirect => $"redirect to {Location}",
        _ => $"{Kind.ToString().ToLowerInvariant()} of {Bytes.ToString(CultureInfo.InvariantCulture)} bytes",
    };

    private static async Task WriteFillerAsync(HttpResponse response, long bytes, CancellationToken cancellationToken)
    {
        var chunk = new byte[64 * 1024];
        for (var i = 0; i < chunk.Length; i++)
        {
            chunk[i] = Filler[i % Filler.Length];
        }
        for (var left = bytes; left > 0; left -= chunk.Length)
        {
            await response.Body.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, left)), cancellationToken);
        }
    }
}
