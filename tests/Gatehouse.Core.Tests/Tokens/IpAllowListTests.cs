using System.Net;
using Gatehouse.Tokens;

namespace Gatehouse.Core.Tests.Tokens;

public sealed class IpAllowListTests
{
    [Theory]
    [InlineData("10.0.0.0/8", "10.200.3.4", true)]
    [InlineData("10.0.0.0/8", "11.0.0.1", false)]
    [InlineData("192.168.1.7", "192.168.1.7", true)]
    [InlineData("192.168.1.7", "192.168.1.8", false)]
    [InlineData("10.0.0.0/8", "::ffff:10.1.2.3", true)]
    [InlineData("2001:db8::/32", "2001:db8:1::5", true)]
    [InlineData("2001:db8::/32", "2001:db9::5", false)]
    [InlineData("::1", "::1", true)]
    [InlineData("2001:db8::/32", "10.0.0.1", false)]
    [InlineData("0.0.0.0/0", "203.0.113.9", true)]
    public void Addresses_are_matched_against_CIDR_ranges_of_both_families(string range, string client, bool allowed) =>
        Assert.Equal(allowed, IpAllowList.Parse([range]).Allows(IPAddress.Parse(client)));

    [Fact]
    public void An_empty_list_allows_any_address_and_a_list_refuses_an_unknown_one()
    {
        Assert.True(IpAllowList.Parse([]).Allows(null));
        Assert.False(IpAllowList.Parse(["10.0.0.0/8"]).Allows(null));
    }

    [Theory]
    [InlineData("10.0.0.1/8")]
    [InlineData("10.0.0.0/33")]
    [InlineData("not-an-ip")]
    [InlineData("")]
    public void Entries_that_are_no_range_are_refused(string entry) => Assert.Throws<FormatException>(() => IpAllowList.Parse([entry]));

    [Fact]
    public void Entries_are_kept_in_their_canonical_spelling() =>
        Assert.Equal(["192.168.1.7/32", "2001:db8::/32"], IpAllowList.Canonical([" 192.168.1.7 ", "2001:0db8::/32"]));
}
