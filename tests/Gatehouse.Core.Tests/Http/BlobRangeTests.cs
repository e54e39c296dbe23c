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

    [Theory]
    [InlineData("bytes=0-", 0L, Size)] // an open range from zero: the whole body, but as a partial response
    [InlineData("bytes=40-", 40L, 60L)] // an open range resumes from its offset
    [InlineData("bytes=10-19", 10L, 10L)] // a closed range includes both ends
    [InlineData("bytes=-5", 95L, 5L)] // a suffix range is the last bytes
    [InlineData("bytes=-500", 0L, Size)] // a suffix longer than the body is the whole body
    [InlineData("bytes=90-1000", 90L, 10L)] // an end past the size is clamped to the last byte
    public void A_satisfiable_range_is_served_as_a_partial_response(string range, long offset, long length)
    {
        Assert.Equal((offset, length, true), Resolve(range));
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

    [Theory]
    [InlineData(null)] // no Range header at all
    [InlineData("bytes=0-9, 20-29")] // multiple ranges
    [InlineData("bytes=abc")]
    [InlineData("bytes=19-10")]
    [InlineData("bytes=x-5")]
    [InlineData("bytes=-0")]
    [InlineData("bytes=+5-10")]
    [InlineData("items=0-5")]
    public void Without_one_well_formed_range_the_whole_body_is_served(string? range)
    {
        Assert.Equal((0L, Size, false), Resolve(range));
    }

    /// <summary>If-Range values that validate: the strong ETag itself, or an HTTP date equal to Last-Modified.</summary>
    public static TheoryData<string> ValidatingIfRange => [ETag, HeaderUtilities.FormatDate(LastModified)];

    /// <summary>
    /// If-Range values that do not validate: another or a weak ETag, a date before or after Last-Modified (RFC 9110
    /// §13.1.5: a date validator holds only if it exactly matches), and something that is neither.
    /// </summary>
    public static TheoryData<string> StaleIfRange =>
    [
        "\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"",
        "W/\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"",
        HeaderUtilities.FormatDate(LastModified.AddSeconds(-1)),
        HeaderUtilities.FormatDate(LastModified.AddDays(1)),
        "garbage",
    ];

    [Theory]
    [MemberData(nameof(ValidatingIfRange))]
    public void If_Range_that_validates_serves_the_range(string ifRange)
    {
        Assert.Equal((10L, 10L, true), Resolve("bytes=10-19", ifRange));
    }

    [Theory]
    [MemberData(nameof(StaleIfRange))]
    public void If_Range_that_does_not_validate_serves_the_whole_body(string ifRange)
    {
        Assert.Equal((0L, Size, false), Resolve("bytes=10-19", ifRange));
    }

    [Fact]
    public void If_Range_dates_compare_at_whole_seconds_because_HTTP_dates_have_no_fraction()
    {
        var withMilliseconds = LastModified.AddMilliseconds(750);
        Assert.Equal((10L, 10L, true), Resolve("bytes=10-19", HeaderUtilities.FormatDate(withMilliseconds), lastModified: withMilliseconds));
    }
}
