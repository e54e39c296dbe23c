using Gatehouse.Pipeline;

namespace Gatehouse.Core.Tests.Pipeline;

public class SingleFlightTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Starts <paramref name="callers"/> calls for one key from as many threads, and waits until every call has joined.</summary>
    private static async Task<Task<int>[]> JoinAsync(SingleFlight<string, int> flight, string key, int callers, Func<Task<int>> operation)
    {
        using var start = new Barrier(callers);
        var launches = Enumerable.Range(0, callers).Select(_ => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait(Patience);
            return flight.RunAsync(key, operation);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        return await Task.WhenAll(launches).WaitAsync(Patience);
    }

    [Fact]
    public async Task Fifty_concurrent_callers_for_one_key_run_the_operation_once_and_all_get_its_result()
    {
        var flight = new SingleFlight<string, int>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        var calls = await JoinAsync(flight, "demo-1.0.tar.gz", 50, async () =>
        {
            Interlocked.Increment(ref runs);
            await release.Task;
            return 42;
        });
        release.SetResult();
        var results = await Task.WhenAll(calls).WaitAsync(Patience);
        Assert.Equal(1, runs);
        Assert.Equal(50, results.Length);
        Assert.All(results, r => Assert.Equal(42, r));
    }

    [Fact]
    public async Task Different_keys_run_separately()
    {
        var flight = new SingleFlight<string, int>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        var a = flight.RunAsync("a", async () => { Interlocked.Increment(ref runs); await release.Task; return 1; });
        var b = flight.RunAsync("b", async () => { Interlocked.Increment(ref runs); await release.Task; return 2; });
        release.SetResult();
        var results = await Task.WhenAll(a, b).WaitAsync(Patience);
        Assert.Equal([1, 2], results);
        Assert.Equal(2, runs);
    }

    [Fact]
    public async Task A_call_after_the_operation_completed_runs_it_again()
    {
        var flight = new SingleFlight<string, int>();
        var runs = 0;
        Func<Task<int>> operation = () => Task.FromResult(Interlocked.Increment(ref runs));
        Assert.Equal(1, await flight.RunAsync("k", operation).WaitAsync(Patience));
        Assert.Equal(2, await flight.RunAsync("k", operation).WaitAsync(Patience));
        Assert.Equal(2, runs);
    }

    [Fact]
    public async Task An_exception_reaches_every_waiter_and_frees_the_key()
    {
        var flight = new SingleFlight<string, int>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        var calls = await JoinAsync(flight, "k", 10, async () =>
        {
            Interlocked.Increment(ref runs);
            await release.Task;
            throw new InvalidOperationException("upstream said 500");
        });
        release.SetResult();
        foreach (var call in calls)
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => call.WaitAsync(Patience));
            Assert.Equal("upstream said 500", e.Message);
        }
        Assert.Equal(1, runs);
        Assert.Equal(7, await flight.RunAsync("k", () => Task.FromResult(7)).WaitAsync(Patience));
    }

    [Fact]
    public async Task An_operation_that_throws_before_its_first_await_still_reaches_the_caller_as_a_faulted_task()
    {
        var flight = new SingleFlight<string, int>();
        var call = flight.RunAsync("k", () => throw new InvalidOperationException("sync"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => call.WaitAsync(Patience));
        Assert.Equal(3, await flight.RunAsync("k", () => Task.FromResult(3)).WaitAsync(Patience));
    }
}
