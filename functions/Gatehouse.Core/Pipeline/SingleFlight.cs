using System.Collections.Concurrent;

namespace Gatehouse.Pipeline;

/// <summary>Runs one operation per key at a time; concurrent callers for the same key share its result.</summary>
public sealed class SingleFlight<TKey, TValue> where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Lazy<Task<TValue>>> _inFlight = new();

    /// <summary>
    /// Joins the running operation for <paramref name="key"/> or starts <paramref name="operation"/>. The operation
    /// runs with its own token so one caller giving up does not cancel the others.
    /// </summary>
    public Task<TValue> RunAsync(TKey key, Func<Task<TValue>> operation)
    {
        var lazy = _inFlight.GetOrAdd(key, k => new Lazy<Task<TValue>>(() => RunAndForget(k, operation)));
        return lazy.Value;
    }

    private async Task<TValue> RunAndForget(TKey key, Func<Task<TValue>> operation)
    {
        try
        {
            return await Task.Run(operation);
        }
        finally
        {
            _inFlight.TryRemove(key, out _);
        }
    }
}
