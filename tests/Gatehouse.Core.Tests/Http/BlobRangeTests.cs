using Gatehouse.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Core.Tests.Http;

public class BlobRangeTests
{
    private const long Size = 100;
    private const string ETag = "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"";
    private static readonly DateTimeOffset LastModified = new(2025, 3, 4, 5, 6, 7, TimeSpan.Zero);

    private static (long Offset, long Length, bool Partial) Resolve(string? range, string? ifRange = null, long size = Size, DateTimeOffset? lastModified = null)
    {
        var context = new DefaultHttpContext();
        if (range is not null)
        {
            context.Request.Headers.Range = range;
        }
        if (ifRange is not null)
        {
            context.Request.Headers.IfRange = ifRange;
        }
        return BlobResponses.ResolveRange(context.Request, size, ETag, lastModified ?? LastModified);
    }

    [Fact]
    public void Without_a_range_the_whole_body_is_served()
    {
        Assert.Equal((0L, Size, false), Resolve(null));
    }

    [Fact]
    public void An_open_range_from_zero_is_the_whole_body_as_a_partial_response()
    {
        Assert.Equal((0L, Size, true), Resolve("bytes=0-"));
    }

    [Fact]
    public void An_open_range_resumes_from_its_offset()
    {
        Assert.Equal((40L, 60L, true), Resolve("bytes=40-"));
    }

    [Fact]
    public void A_closed_range_includes_both_ends()
    {
        Assert.Equal((10L, 10L, true), Resolve("bytes=10-19"));
    }

    [Fact]
    public void A_suffix_range_is_the_last_bytes()
    {
        Assert.Equal((95L, 5L, true), Resolve("bytes=-5"));
    }

    [Fact]
    public void A_suffix_longer_than_the_body_is_the_whole_body()
    {
        Assert.Equal((0L, Size, true), Resolve("bytes=-500"));
    }

    [Fact]
    public void An_end_past_the_size_is_clamped_to_the_last_byte()
    {
        Assert.Equal((90L, 10L, true), Resolve("bytes=90-1000"));
    }

    [Theory]
    [InlineData("bytes=100-")]
    [InlineData("bytes=100-200")]
    [InlineData("bytes=5000-")]
    public void A_start_at_or_past_the_size_is_unsatisfiable(string range)
    {
        var (_, length, _) = Resolve(range);
        Assert.Equal(-1, length);
    }

    [Fact]
    public void Any_range_of_an_empty_body_is_unsatisfiable()
    {
        Assert.Equal(-1, Resolve("bytes=0-", size: 0).Length);
        Assert.Equal(-1, Resolve("bytes=-5", size: 0).Length);
    }

    [Fact]
    public void Multiple_ranges_get_the_whole_body()
    {
        Assert.Equal((0L, Size, false), Resolve("bytes=0-9, 20-29"));
    }

    [Theory]
    [InlineData("bytes=abc")]
    [InlineData("bytes=19-10")]
    [InlineData("bytes=x-5")]
    [InlineData("bytes=-0")]
    [InlineData("bytes=+5-10")]
    [InlineData("items=0-5")]
    public void A_malformed_range_is_ignored_and_the_whole_body_served(string range)
    {
        Assert.Equal((0L, Size, false), Resolve(range));
    }

    [Fact]
    public void If_Range_matching_the_strong_ETag_serves_the_range()
    {
        Assert.Equal((10L, 10L, true), Resolve("bytes=10-19", ETag));
    }

    [Theory]
    [InlineData("\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"")]
    [InlineData("W/\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"")]
    public void If_Range_with_another_or_a_weak_ETag_serves_the_whole_body(string ifRange)
    {
        Assert.Equal((0L, Size, false), Resolve("bytes=10-19", ifRange));
    }

    [Fact]
    public void If_Range_as_an_HTTP_date_equal_to_Last_Modified_serves_the_range()
    {
        Assert.Equal((10L, 10L, true), Resolve("bytes=10-19", HeaderUtilities.FormatDate(LastModified)));
    }

    [Fact]
    public void If_Range_dates_compare_at_whole_seconds_because_HTTP_dates_have_no_fraction()
    {
        var withMilliseconds = LastModified.AddMilliseconds(750);
        Assert.Equal((10L, 10L, true), Resolve("bytes=10-19", HeaderUtilities.FormatDate(withMilliseconds), lastModified: withMilliseconds));
    }

    [Fact]
    public void If_Range_as_a_date_before_Last_Modified_serves_the_whole_body()
    {
        Assert.Equal((0L, Size, false), Resolve("bytes=10-19", HeaderUtilities.FormatDate(LastModified.AddSeconds(-1))));
    }

    [Fact]
    public void If_Range_as_a_date_after_Last_Modified_serves_the_whole_body()
    {
        // RFC 9110 §13.1.5: a date validator holds only if it exactly matches Last-Modified.
        Assert.Equal((0L, Size, false), Resolve("bytes=10-19", HeaderUtilities.FormatDate(LastModified.AddDays(1))));
    }

    [Fact]
    public void If_Range_that_is_neither_an_ETag_nor_a_date_serves_the_whole_body()
    {
        Assert.Equal((0L, Size, false), Resolve("bytes=10-19", "garbage"));
    }
}
