using System.Globalization;
using Azure.Core;

namespace Gatehouse.Cli.Deploy;

/// <summary>The wait for a long-running operation ran past <c>--timeout</c>; the operation itself goes on in Azure.</summary>
internal sealed class DeployTimedOutException(string what) : Exception($"{what} was still running when --timeout ran out");

/// <summary>
/// Polls a long-running operation the way ARM asks: wait for the response's <c>Retry-After</c> (seconds or an HTTP
/// date; <c>retry-after-ms</c>/<c>x-ms-retry-after-ms</c> first, as Azure.Core reads them), else a default interval,
/// then GET the status URL again, until the caller's test says it is done or the deadline passes.
/// </summary>
internal sealed class OperationPoller(ArmRest arm, TimeProvider time)
{
    // A service asking for more than this is still polled at this pace, so progress keeps moving.
    private static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(60);

    /// <summary>GETs <paramref name="url"/> after each wait until <paramref name="done"/>; <paramref name="afterEachPoll"/> prints progress.</summary>
    public async Task<ArmResponse> UntilAsync(Uri url, ArmResponse first, TimeSpan defaultInterval, DateTimeOffset deadline, string what,
        Func<ArmResponse, bool> done, Func<ArmResponse, CancellationToken, Task>? afterEachPoll, CancellationToken cancellationToken)
    {
        var last = first;
        while (true)
        {
            await WaitAsync(last, defaultInterval, deadline, what, cancellationToken);
            last = await arm.SendAsync(RequestMethod.Get, url, null, cancellationToken);
            if (afterEachPoll is not null)
            {
                await afterEachPoll(last, cancellationToken);
            }
            if (done(last))
            {
                return last;
            }
        }
    }

    /// <summary>Waits as long as <paramref name="last"/> asked (or the default); gives up when that would end past the deadline.</summary>
    public async Task WaitAsync(ArmResponse last, TimeSpan defaultInterval, DateTimeOffset deadline, string what, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var delay = RetryAfter(last, now) ?? defaultInterval;
        delay = delay < TimeSpan.Zero ? TimeSpan.Zero : delay > LongestWait ? LongestWait : delay;
        if (now + delay > deadline)
        {
            throw new DeployTimedOutException(what);
        }
        await Task.Delay(delay, time, cancellationToken);
    }

    /// <summary>How long the response asked the client to wait, or null when it did not say.</summary>
    public static TimeSpan? RetryAfter(ArmResponse response, DateTimeOffset now)
    {
        foreach (var name in new[] { "retry-after-ms", "x-ms-retry-after-ms" })
        {
            if (response.Header(name) is { } ms && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds))
            {
                return TimeSpan.FromMilliseconds(milliseconds);
            }
        }
        if (response.Header("Retry-After") is not { } value)
        {
            return null;
        }
        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }
        return DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at - now : null;
    }
}
