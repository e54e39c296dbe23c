using System.Collections.Concurrent;
using Gatehouse.Configuration;
using Microsoft.Extensions.Options;

namespace Gatehouse.Tokens;

/// <summary>
/// Slows guessing: a client address that presented <c>FailureLimit</c> tokens that did not check out within
/// <c>FailureWindowSeconds</c> is answered 429 until that window ends, before any token it sends is looked up. Counts
/// are kept per address and per instance (a fixed window each), so a valid token from another address is never slowed;
/// requests without credentials (pip's first try) do not count.
/// </summary>
public sealed class AuthFailureLimiter(IOptions<GatehouseOptions> options, TimeProvider time)
{
    /// <summary>Addresses tracked at most; past it, windows that ended are dropped first.</summary>
    internal const int MaxTracked = 100_000;

    private readonly int _limit = options.Value.Auth.FailureLimit;
    private readonly TimeSpan _window = TimeSpan.FromSeconds(options.Value.Auth.FailureWindowSeconds);
    private readonly ConcurrentDictionary<string, FailureWindow> _windows = new(StringComparer.Ordinal);

    /// <summary>How long the address must wait before it may try again, or null when it may try now.</summary>
    public TimeSpan? RetryAfter(string? address)
    {
        if (_limit <= 0 || address is null || !_windows.TryGetValue(address, out var window))
        {
            return null;
        }
        var now = time.GetUtcNow();
        var ends = window.Start + _window;
        return window.Failures >= _limit && now < ends ? ends - now : null;
    }

    /// <summary>Counts a failed authentication from <paramref name="address"/>.</summary>
    public void Failed(string? address)
    {
        if (_limit <= 0 || address is null)
        {
            return;
        }
        var now = time.GetUtcNow();
        if (_windows.Count >= MaxTracked)
        {
            foreach (var (key, old) in _windows)
            {
                if (old.Start + _window <= now)
                {
                    _windows.TryRemove(key, out _);
                }
            }
        }
        _windows.AddOrUpdate(address, _ => new FailureWindow(now, 1),
            (_, w) => w.Start + _window <= now ? new FailureWindow(now, 1) : w with { Failures = w.Failures + 1 });
    }

    private sealed record FailureWindow(DateTimeOffset Start, int Failures);
}
