using System.Collections.Concurrent;

namespace Gatehouse.Pipeline;

/// <summary>
/// In-process word that the facts of a content were just recorded, so a waiting request answers at once instead of on
/// the next Durable completion poll (about 2 s on Azure Storage). When the recording ran in another process (scale-out)
/// nothing is signalled here and the Durable wait ends the request. A waiter leaves when its wait ends however it ends,
/// so the map holds only contents someone is waiting for right now.
/// </summary>
public sealed class ScanSignals
{
    private readonly ConcurrentDictionary<string, Waiters> _waiting = new(StringComparer.Ordinal);

    /// <summary>Starts listening for <paramref name="sha256"/>; dispose the result when the wait is over.</summary>
    public Subscription Subscribe(string sha256)
    {
        while (true)
        {
            var waiters = _waiting.GetOrAdd(sha256, _ => new Waiters());
            lock (waiters)
            {
                // A set that just emptied may be on its way out of the map: take a fresh one.
                if (waiters.Count >= 0)
                {
                    waiters.Count++;
                    return new Subscription(this, sha256, waiters);
                }
            }
        }
    }

    public void Publish(string sha256)
    {
        if (_waiting.TryGetValue(sha256, out var waiters))
        {
            waiters.Signal.TrySetResult();
        }
    }

    /// <summary>Contents someone is waiting for (for tests: it must return to zero).</summary>
    public int Waiting => _waiting.Count;

    private void Leave(string sha256, Waiters waiters)
    {
        lock (waiters)
        {
            if (--waiters.Count == 0)
            {
                waiters.Count = -1;
                _waiting.TryRemove(new KeyValuePair<string, Waiters>(sha256, waiters));
            }
        }
    }

    internal sealed class Waiters
    {
        public TaskCompletionSource Signal { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Count;
    }

    /// <summary>One waiter; <see cref="Published"/> completes when the facts are recorded in this process.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly ScanSignals _owner;
        private readonly string _sha256;
        private readonly Waiters _waiters;
        private int _disposed;

        internal Subscription(ScanSignals owner, string sha256, Waiters waiters)
        {
            _owner = owner;
            _sha256 = sha256;
            _waiters = waiters;
        }

        public Task Published => _waiters.Signal.Task;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _owner.Leave(_sha256, _waiters);
            }
        }
    }
}
