using Gatehouse.Pipeline;

namespace Gatehouse.Core.Tests.Pipeline;

public sealed class ScanSignalsTests
{
    [Fact]
    public async Task A_published_content_wakes_every_waiter_and_the_waiters_leave_when_done()
    {
        var signals = new ScanSignals();
        var first = signals.Subscribe("a");
        var second = signals.Subscribe("a");
        Assert.Equal(1, signals.Waiting);

        signals.Publish("a");
        await first.Published.WaitAsync(TimeSpan.FromSeconds(5));
        await second.Published.WaitAsync(TimeSpan.FromSeconds(5));
        first.Dispose();
        Assert.Equal(1, signals.Waiting);
        second.Dispose();
        second.Dispose();
        Assert.Equal(0, signals.Waiting);
    }

    [Fact]
    public void Waiters_that_give_up_without_a_publish_leave_nothing_behind()
    {
        var signals = new ScanSignals();
        for (var i = 0; i < 1000; i++)
        {
            using var subscription = signals.Subscribe($"content-{i % 10}");
        }
        Assert.Equal(0, signals.Waiting);
    }

    [Fact]
    public async Task A_waiter_after_the_last_left_gets_a_fresh_signal()
    {
        var signals = new ScanSignals();
        using (var early = signals.Subscribe("a"))
        {
            signals.Publish("a");
            await early.Published;
        }
        using var late = signals.Subscribe("a");
        Assert.False(late.Published.IsCompleted);
    }

    [Fact]
    public async Task Many_waiters_coming_and_going_at_once_leave_nothing_behind()
    {
        var signals = new ScanSignals();
        await Parallel.ForAsync(0, 10_000, async (i, _) =>
        {
            using var subscription = signals.Subscribe($"content-{i % 7}");
            if (i % 3 == 0)
            {
                signals.Publish($"content-{i % 7}");
            }
            await Task.Yield();
        });
        Assert.Equal(0, signals.Waiting);
    }
}
