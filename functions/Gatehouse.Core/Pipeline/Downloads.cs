using Gatehouse.Audit;
using Gatehouse.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Pipeline;

/// <summary>One file served to a client: what, how many bytes, to whom, when.</summary>
public sealed record Download(ArtifactReference Reference, long Bytes, Caller? Caller, DateTimeOffset At);

/// <summary>Something that must learn of every download (the audit trail, a token's usage counters).</summary>
public interface IDownloadObserver
{
    Task ServedAsync(Download download, CancellationToken cancellationToken);
}

/// <summary>
/// Counts the bytes of a file served by a GET (a HEAD serves no bytes) and tells every <see cref="IDownloadObserver"/>. An observer that fails
/// is logged and does not fail the download, whose bytes are already on their way.
/// </summary>
public sealed class Downloads(IEnumerable<IDownloadObserver> observers, TimeProvider time, ILogger<Downloads> log)
{
    private readonly IDownloadObserver[] _observers = [.. observers];

    public async Task ServedAsync(HttpContext context, ArtifactReference reference, long bytes)
    {
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            return;
        }
        GatehouseTelemetry.BytesServed.Add(bytes, new KeyValuePair<string, object?>("remote", reference.Remote.Name));
        var download = new Download(reference, bytes, Caller.Of(context), time.GetUtcNow());
        foreach (var observer in _observers)
        {
            try
            {
                await observer.ServedAsync(download, CancellationToken.None);
            }
            catch (Exception e)
            {
                log.LogError(e, "{Observer} failed to record the download of {Remote} {Subject} {FileName} ({Sha256})", observer.GetType().Name, reference.Remote,
                    reference.Subject, reference.FileName, reference.Sha256);
            }
        }
    }
}
