using Gatehouse.Configuration;
using Gatehouse.Tokens;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Tokens;

public sealed class AuthFailureLimiterTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));

    private AuthFailureLimiter Limiter(int limit = 3, int windowSeconds = 60) =>
        new(Options.Create(new GatehouseOptions { Auth = { FailureLimit = limit, FailureWindowSeconds = windowSeconds } }), _time);

    [Fact]
    public void An_address_is_held_back_after_the_limit_until_its_window_ends()
    {
        var limiter = Limiter();
        for (var i = 0; i < 2; i++)
        {
            limiter.Failed("203.0.113.5");
            Assert.Null(limiter.RetryAfter("203.0.113.5"));
        }
        _time.Advance(TimeSpan.FromSeconds(20));
        limiter.Failed("203.0.113.5");
        Assert.Equal(TimeSpan.FromSeconds(40), limiter.RetryAfter("203.0.113.5"));
        _time.Advance(TimeSpan.FromSeconds(39));
        Assert.Equal(TimeSpan.FromSeconds(1), limiter.RetryAfter("203.0.113.5"));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(limiter.RetryAfter("203.0.113.5"));
    }

    [Fact]
    public void Another_address_is_never_held_back()
    {
        var limiter = Limiter(limit: 1);
        limiter.Failed("203.0.113.5");
        Assert.NotNull(limiter.RetryAfter("203.0.113.5"));
        Assert.Null(limiter.RetryAfter("198.51.100.7"));
        Assert.Null(limiter.RetryAfter(null));
    }

    [Fact]
    public void Failures_of_a_window_that_ended_are_forgotten()
    {
        var limiter = Limiter(limit: 2, windowSeconds: 10);
        limiter.Failed("203.0.113.5");
        _time.Advance(TimeSpan.FromSeconds(11));
        limiter.Failed("203.0.113.5");
        Assert.Null(limiter.RetryAfter("203.0.113.5"));
        limiter.Failed("203.0.113.5");
        Assert.NotNull(limiter.RetryAfter("203.0.113.5"));
    }

    [Fact]
    public void A_limit_of_zero_turns_it_off()
    {
        var limiter = Limiter(limit: 0);
        for (var i = 0; i < 100; i++)
        {
            limiter.Failed("203.0.113.5");
        }
        Assert.Null(limiter.RetryAfter("203.0.113.5"));
    }
}
