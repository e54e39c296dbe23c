using Gatehouse.Versions;

namespace Gatehouse.Core.Tests.Versions;

public class Pep440VersionTests
{
    // PEP 440, "Summary of permitted suffixes and relative ordering": the example list, in ascending order.
    private static readonly string[] SpecOrdering =
    [
        "1.dev0", "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2",
        "1.0b2.post345.dev456", "1.0b2.post345", "1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5",
        "1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1",
    ];

    // More ascending vectors: the chain from the brief, epochs, local labels and post spellings (each must be written
    // so that no two are equal).
    private static readonly string[] MoreOrdering =
    [
        "0.9", "1.0.dev0", "1.0.dev456+local", "1.0a0", "1.0a0.post0.dev0", "1.0a0.post0", "1.0a1.dev0", "1.0a1.dev1+local",
        "1.0a1", "1.0a1+local", "1.0a1.post1.dev0", "1.0a1.post1", "1.0b0", "1.0b2-346", "1.0rc0", "1.0c1.dev1", "1.0c1",
        "1.0rc2", "1.0", "1.0.post0.dev0", "1.0.post0", "1.0.post1.dev0", "1.0.post1", "1.0.post456+local", "1.0.1.dev1",
        "1.0.1a1", "1.0.1", "1.0.1+local", "1.0.1.post1", "1.1.dev1", "1.2+a", "1.2+abc", "1.2+abcdef", "1.2+def",
        "1.2+0", "1.2+1", "1.2+1.abc", "1.2+1.1", "1.2+1.1.0", "1.2+2", "1.2+123", "1.2+123456", "1.2.r32+123456",
        "1.2.rev33+123456", "2.0", "10.0", "1!0.1", "1!1.0.dev0", "1!1.0", "2!0.0.1",
    ];

    public static TheoryData<string, string> AdjacentPairs()
    {
        var data = new TheoryData<string, string>();
        foreach (var list in new[] { SpecOrdering, MoreOrdering })
        {
            for (var i = 0; i + 1 < list.Length; i++)
            {
                data.Add(list[i], list[i + 1]);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(AdjacentPairs))]
    public void Each_version_sorts_before_the_next_one_in_the_ordering_lists(string lower, string higher)
    {
        var low = Pep440Version.Parse(lower);
        var high = Pep440Version.Parse(higher);
        Assert.True(low.CompareTo(high) < 0, $"{lower} should sort before {higher}");
        Assert.True(high.CompareTo(low) > 0, $"{higher} should sort after {lower}");
        Assert.True(low < high);
        Assert.True(low <= high);
        Assert.True(high > low);
        Assert.True(high >= low);
        Assert.False(low == high);
        Assert.True(low != high);
        Assert.False(low.Equals(high));
    }

    [Fact]
    public void Sorting_the_specification_example_list_reversed_gives_it_back_in_order()
    {
        foreach (var list in new[] { SpecOrdering, MoreOrdering })
        {
            var sorted = list.Reverse().Select(Pep440Version.Parse).Order().Select(v => v.ToString()).ToArray();
            Assert.Equal(list.Select(v => Pep440Version.Parse(v).ToString()), sorted);
        }
    }

    [Theory]
    // Case and pre-release spellings (PEP 440, "Case sensitivity", "Pre-release separators", "Pre-release spelling").
    [InlineData("1.0ALPHA1", "1.0a1")]
    [InlineData("1.0alpha1", "1.0a1")]
    [InlineData("1.0a1", "1.0a1")]
    [InlineData("1.0-a1", "1.0a1")]
    [InlineData("1.0.a.1", "1.0a1")]
    [InlineData("1.0_a_1", "1.0a1")]
    [InlineData("1.0-alpha-1", "1.0a1")]
    [InlineData("1.0BETA2", "1.0b2")]
    [InlineData("1.0beta2", "1.0b2")]
    [InlineData("1.0.b2", "1.0b2")]
    [InlineData("1.0c1", "1.0rc1")]
    [InlineData("1.0C1", "1.0rc1")]
    [InlineData("1.0pre1", "1.0rc1")]
    [InlineData("1.0preview1", "1.0rc1")]
    [InlineData("1.0.RC1", "1.0rc1")]
    [InlineData("1.0-rc-1", "1.0rc1")]
    // Implicit pre-release, post-release and development numbers.
    [InlineData("1.0a", "1.0a0")]
    [InlineData("1.0.beta", "1.0b0")]
    [InlineData("1.0rc", "1.0rc0")]
    [InlineData("1.0.post", "1.0.post0")]
    [InlineData("1.0.dev", "1.0.dev0")]
    [InlineData("1.0dev", "1.0.dev0")]
    [InlineData("1.0-DEV1", "1.0.dev1")]
    // Post-release spellings and separators, including the implicit "-N" form.
    [InlineData("1.0-1", "1.0.post1")]
    [InlineData("1.0-5", "1.0.post5")]
    [InlineData("1.0post1", "1.0.post1")]
    [InlineData("1.0-post1", "1.0.post1")]
    [InlineData("1.0_post_1", "1.0.post1")]
    [InlineData("1.0.POST1", "1.0.post1")]
    [InlineData("1.0r1", "1.0.post1")]
    [InlineData("1.0rev1", "1.0.post1")]
    [InlineData("1.0-r-4", "1.0.post4")]
    [InlineData("1.0b2-346", "1.0b2.post346")]
    [InlineData("1.0a1-1.dev2", "1.0a1.post1.dev2")]
    // Leading v, whitespace, integer normalisation and epochs.
    [InlineData("v1.0", "1.0")]
    [InlineData("V1.0", "1.0")]
    [InlineData("  1.0\t\n", "1.0")]
    [InlineData(" \r \f \v v1.0\t\n", "1.0")]
    [InlineData("1.01", "1.1")]
    [InlineData("1.0a05", "1.0a5")]
    [InlineData("1.0.post000", "1.0.post0")]
    [InlineData("1.1.dev09000", "1.1.dev9000")]
    [InlineData("00!1.2", "1.2")]
    [InlineData("0100!0.0", "100!0.0")]
    [InlineData("1!1.0", "1!1.0")]
    [InlineData("1.0.0", "1.0.0")]
    // Local labels: lower case, "." separators, numbers without leading zeros.
    [InlineData("1.0+ubuntu-1", "1.0+ubuntu.1")]
    [InlineData("1.0+ubuntu_1", "1.0+ubuntu.1")]
    [InlineData("1.0+AbC", "1.0+abc")]
    [InlineData("1.0+Ubuntu.01", "1.0+ubuntu.1")]
    [InlineData("1.0+000", "1.0+0")]
    [InlineData("1.0+abc.007x", "1.0+abc.007x")]
    [InlineData("1!2.0.0RC1.post2.DEV3+Local-7", "1!2.0.0rc1.post2.dev3+local.7")]
    public void Every_permitted_spelling_normalises_to_the_canonical_form(string text, string normalised)
    {
        Assert.True(Pep440Version.TryParse(text, out var version));
        Assert.Equal(normalised, version.ToString());
        Assert.Equal(normalised, Pep440Version.Parse(normalised).ToString());
        Assert.Equal(Pep440Version.Parse(normalised), version);
    }

    [Theory]
    [InlineData("1.0+")]
    [InlineData("french toast")]
    [InlineData("1..0")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("1.0.")]
    [InlineData(".1.0")]
    [InlineData("1.0-")]
    [InlineData("1.0a1a2")]
    [InlineData("1.0.post1.post2")]
    [InlineData("1.0.dev1.post1")]
    [InlineData("1.0.dev1a1")]
    [InlineData("1.0+a+b")]
    [InlineData("1.0+a..b")]
    [InlineData("1.0+-a")]
    [InlineData("1.0+a_")]
    [InlineData("1.0 a1")]
    [InlineData("vv1.0")]
    [InlineData("1.0gamma1")]
    [InlineData("!1.0")]
    [InlineData("1!")]
    [InlineData("1.0.*")]
    [InlineData("1.0+\u0130")]
    [InlineData("1.0+\u212A")]
    [InlineData("\u0661.0")]
    [InlineData("1.0-1-1")]
    [InlineData("99999999999999999999.0")]
    [InlineData("99999999999!1.0")]
    [InlineData(null)]
    public void Text_that_is_not_a_version_does_not_parse(string? text)
    {
        Assert.False(Pep440Version.TryParse(text, out var version));
        Assert.Null(version);
    }

    [Fact]
    public void Parse_of_an_invalid_version_throws_a_FormatException_that_names_the_text()
    {
        var error = Assert.Throws<FormatException>(() => Pep440Version.Parse("french toast"));
        Assert.Contains("'french toast'", error.Message, StringComparison.Ordinal);
        Assert.Contains("PEP 440", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1.0", "1.0.0")]
    [InlineData("1.0", "1")]
    [InlineData("1.0.0.0", "1")]
    [InlineData("0!1.0", "1.0")]
    [InlineData("1.0a1", "1.0alpha1")]
    [InlineData("1.0c1", "1.0rc1")]
    [InlineData("1.0-1", "1.0.post1")]
    [InlineData("1.0+Ubuntu.01", "1.0.0+ubuntu.1")]
    [InlineData("1.0+abc.5", "1.0+ABC-05")]
    [InlineData("v1.2.3", "1.2.3")]
    public void Versions_that_differ_only_in_spelling_or_trailing_zeros_are_equal_with_equal_hashes(string left, string right)
    {
        var a = Pep440Version.Parse(left);
        var b = Pep440Version.Parse(right);
        Assert.Equal(0, a.CompareTo(b));
        Assert.True(a == b);
        Assert.False(a != b);
        Assert.True(a.Equals(b));
        Assert.True(a.Equals((object)b));
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Single(new HashSet<Pep440Version> { a, b });
    }

    [Fact]
    public void The_release_keeps_its_trailing_zeros_as_written()
    {
        Assert.Equal([1L, 0L, 0L], Pep440Version.Parse("1.0.0").Release);
        Assert.Equal("1.0.0", Pep440Version.Parse("1.0.0").ToString());
        Assert.Equal("1", Pep440Version.Parse("1").ToString());
    }

    [Theory]
    [InlineData("1!1.0", "2.0")]
    [InlineData("1!0.0.1", "9999.0")]
    [InlineData("2!1.0", "1!2.0")]
    [InlineData("1!1.0.dev0", "1.0.post1+local")]
    public void A_higher_epoch_sorts_after_every_version_of_a_lower_epoch(string higherEpoch, string lowerEpoch)
    {
        Assert.True(Pep440Version.Parse(higherEpoch) > Pep440Version.Parse(lowerEpoch));
    }

    [Theory]
    [InlineData("1.0+1", "1.0+abc")]
    [InlineData("1.0+10", "1.0+9")]
    [InlineData("1.0+010", "1.0+9")]
    [InlineData("1.0+abc.1", "1.0+abc")]
    [InlineData("1.0+abc.1.0", "1.0+abc.1")]
    [InlineData("1.0+abd", "1.0+abc")]
    [InlineData("1.0+abcd", "1.0+abc")]
    [InlineData("1.0+a.1", "1.0+a.b")]
    [InlineData("1.0+a", "1.0")]
    [InlineData("1.0+123456789012345678901234567890", "1.0+123456789012345678901234567889")]
    public void Local_labels_sort_after_the_public_version_with_numbers_above_letters_and_longer_above_shorter(string higher, string lower)
    {
        Assert.True(Pep440Version.Parse(higher) > Pep440Version.Parse(lower), $"{higher} > {lower}");
        Assert.True(Pep440Version.Parse(lower) < Pep440Version.Parse(higher), $"{lower} < {higher}");
    }

    [Theory]
    [InlineData("1!2.3.4rc5.post6.dev7+ubuntu.8", 1, new long[] { 2, 3, 4 }, "rc", 5L, 6L, 7L, "ubuntu.8", "1!2.3.4rc5.post6.dev7")]
    [InlineData("1.0", 0, new long[] { 1, 0 }, null, 0L, null, null, null, "1.0")]
    [InlineData("2.0b1", 0, new long[] { 2, 0 }, "b", 1L, null, null, null, "2.0b1")]
    [InlineData("2.0.dev3", 0, new long[] { 2, 0 }, null, 0L, null, 3L, null, "2.0.dev3")]
    [InlineData("3-2+X", 0, new long[] { 3 }, null, 0L, 2L, null, "x", "3.post2")]
    public void Parts_are_exposed_normalised(string text, int epoch, long[] release, string? preLabel, long preNumber, long? post, long? dev,
        string? local, string publicVersion)
    {
        var version = Pep440Version.Parse(text);
        Assert.Equal(epoch, version.Epoch);
        Assert.Equal(release, version.Release);
        Assert.Equal(preLabel is null ? null : (preLabel, preNumber), version.Pre);
        Assert.Equal(post, version.Post);
        Assert.Equal(dev, version.Dev);
        Assert.Equal(local, version.Local);
        Assert.Equal(publicVersion, version.Public);
    }

    [Theory]
    [InlineData("1.0", false, false, false)]
    [InlineData("1.0a1", true, false, false)]
    [InlineData("1.0rc1.post1", true, true, false)]
    [InlineData("1.0.dev1", true, false, true)]
    [InlineData("1.0.post1.dev1", true, true, true)]
    [InlineData("1.0.post1", false, true, false)]
    [InlineData("1.0+dev", false, false, false)]
    public void Prerelease_postrelease_and_devrelease_flags_follow_the_segments(string text, bool pre, bool post, bool dev)
    {
        var version = Pep440Version.Parse(text);
        Assert.Equal(pre, version.IsPrerelease);
        Assert.Equal(post, version.IsPostRelease);
        Assert.Equal(dev, version.IsDevRelease);
    }

    [Fact]
    public void Null_sorts_first_and_equals_only_null()
    {
        var version = Pep440Version.Parse("0");
        Pep440Version? missing = null;
        Assert.True(version.CompareTo(null) > 0);
        Assert.True(missing < version);
        Assert.True(version > missing);
        Assert.False(version == missing);
        Assert.False(version.Equals(null));
        Assert.False(version.Equals("0"));
    }
}
