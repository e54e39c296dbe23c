using Gatehouse.Quarantine;
using Gatehouse.Scans;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Quarantine;

/// <summary>What the quarantine API accepts: the list's filters and a release's reason and expiry.</summary>
public sealed class AdminQuarantineRequestTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly AdminQuarantineEndpoint _endpoint = new(null!, new FakeTimeProvider(Now));

    [Fact]
    public void An_empty_query_lists_the_newest_hundred()
    {
        var query = AdminQuarantineEndpoint.ParseQuery(Query(), out var problem);

        Assert.Null(problem);
        Assert.Equal(new QuarantineQuery(null, null, null, null, "decided", 100), query);
    }

    [Fact]
    public void Every_filter_is_read()
    {
        var query = AdminQuarantineEndpoint.ParseQuery(
            Query(("remote", "pypi"), ("rule", "install.pth-exec"), ("severity", "dangerous"), ("since", "2026-02-01"), ("sort", "severity"), ("limit", "5")), out _);

        Assert.Equal(new QuarantineQuery("pypi", "install.pth-exec", Severity.Dangerous, new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero), "severity", 5), query);
    }

    [Theory]
    [InlineData("severity", "fatal", "severity must be one of")]
    [InlineData("severity", "7", "severity must be one of")]
    [InlineData("since", "last week", "since must be")]
    [InlineData("sort", "name", "sort must be one of")]
    [InlineData("limit", "0", "limit must be")]
    [InlineData("limit", "1001", "limit must be")]
    [InlineData("limit", "-3", "limit must be")]
    public void A_malformed_filter_is_refused_with_what_is_wrong(string name, string value, string expected)
    {
        Assert.Null(AdminQuarantineEndpoint.ParseQuery(Query((name, value)), out var problem));
        Assert.StartsWith(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_release_with_a_reason_and_an_expiry_ahead_is_accepted()
    {
        Assert.Null(_endpoint.ReleaseProblem("needed today", "2026-03-08T00:00:00Z", out var expires));
        Assert.Equal(new DateTimeOffset(2026, 3, 8, 0, 0, 0, TimeSpan.Zero), expires);
    }

    [Theory]
    [InlineData(null, "2026-03-08", "A release needs a reason")]
    [InlineData("", "2026-03-08", "A release needs a reason")]
    [InlineData("why", null, "A release needs an expiry")]
    [InlineData("why", "soon", "A release needs an expiry")]
    [InlineData("why", "2026-03-01T11:59:59Z", "The expiry")]
    [InlineData("why", "2027-03-02", "A release may run at most 365 days")]
    public void A_release_without_a_reason_or_a_valid_expiry_is_refused(string? reason, string? expires, string expected) =>
        Assert.StartsWith(expected, _endpoint.ReleaseProblem(reason, expires, out _), StringComparison.Ordinal);

    private static QueryCollection Query(params (string Name, string Value)[] pairs) =>
        new(pairs.ToDictionary(p => p.Name, p => new StringValues(p.Value), StringComparer.Ordinal));
}
