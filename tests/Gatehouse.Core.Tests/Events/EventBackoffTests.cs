using Gatehouse.Events;

namespace Gatehouse.Core.Tests.Events;

/// <summary>The delay between delivery attempts doubles with each failure, up to the maximum.</summary>
public sealed class EventBackoffTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(4, 8)]
    [InlineData(9, 256)]
    [InlineData(10, 300)]
    [InlineData(1000, 300)]
    public void The_delay_doubles_and_stops_at_the_maximum(int failures, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), EventBackoff.Delay(failures, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(300)));

    [Fact]
    public void There_is_no_delay_before_a_failure() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => EventBackoff.Delay(0, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(300)));
}
