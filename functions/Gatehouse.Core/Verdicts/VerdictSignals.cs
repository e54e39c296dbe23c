using System.Collections.Concurrent;

namespace Gatehouse.Verdicts;

/// <summary>
/// In-process word that a verdict was just written, so a waiting request answers at once instead of on the next
/// Durable completion poll (about 2 s on Azure Storage). When the activity runs in another process (Functions scale-out)
/// nothing is signalled here and the Durable wait still ends the request.
/// </summary>
public sealed class VerdictSignals
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiting = new(StringComparer.Ordinal);

    /// <summary>A task that completes when <see cref="Publish"/> is called for <paramref name="sha256"/>.</summary>
    public Task WhenPublished(string sha256) =>
        _waiting.GetOrAdd(sha256, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Publish(string sha256)
    {
        if (_waiting.TryRemove(sha256, out var signal))
        {
            signal.TrySetResult();
        }
    }
}
