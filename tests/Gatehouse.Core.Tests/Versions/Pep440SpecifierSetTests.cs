using Gatehouse.Versions;

namespace Gatehouse.Core.Tests.Versions;

public class Pep440SpecifierSetTests
{
    private static Pep440SpecifierSet Set(string text) =>
        Pep440SpecifierSet.TryParse(text, out var set, out var error) ? set : throw new InvalidOperationException(error);

    private static Pep440Version[] Versions(params string[] texts) => [.. texts.Select(Pep440Version.Parse)];

    [Theory]
    [InlineData(">=1.0, !=1.3.4.*, <2.0", "1.5", true)]
    [InlineData(">=1.0, !=1.3.4.*, <2.0", "1.3.4.1", false)]
    [InlineData(">=1.0, !=1.3.4.*, <2.0", "1.3.5", true)]
    [InlineData(">=1.0, !=1.3.4.*, <2.0", "2.0", false)]
    [InlineData(">=1.0, !=1.3.4.*, <2.0", "0.9", false)]
    [InlineData("~= 0.9, >= 1.0, != 1.3.4.*, < 2.0", "1.0", false)]
    [InlineData("~= 0.9, >= 0.9.5, != 0.9.7.*, < 0.9.9", "0.9.8", true)]
    [InlineData("~= 0.9, >= 0.9.5, != 0.9.7.*, < 0.9.9", "0.9.7.1", false)]
    [InlineData(">=1.0,<2.0", "1.99", true)]
    [InlineData("==1.*,!=1.2", "1.2.0", false)]
    [InlineData("==1.*,!=1.2", "1.2.1", true)]
    [InlineData("", "0.0.1", true)]
    [InlineData("  ", "99!1.0", true)]
    [InlineData(">=1.0,,<2", "1.5", true)]
    public void A_version_matches_a_set_when_it_matches_every_clause(string specifiers, string version, bool expected)
    {
        var set = Set(specifiers);
        Assert.Equal(expected, set.Contains(version));
        Assert.Equal(expected, set.Contains(Pep440Version.Parse(version)));
    }

    [Theory]
    // Pre-releases are left out unless asked for or named by a clause; the empty set is no exception.
    [InlineData("", "1.0a1", null, false)]
    [InlineData("", "1.0a1", true, true)]
    [InlineData(">=1.0", "2.0b1", null, false)]
    [InlineData(">=1.0", "2.0b1", true, true)]
    [InlineData(">=1.0", "2.0.dev1", null, false)]
    [InlineData(">=1.0,<2.0a5", "2.0a1", null, true)]
    [InlineData(">=1.0a1,<2.0", "1.5.dev1", null, true)]
    [InlineData(">=1.0a1,<2.0", "1.5.dev1", false, false)]
    [InlineData(">=1.0,!=1.5a1", "1.5a2", null, false)]
    [InlineData(">=1.0", "2.0.post1", null, true)]
    [InlineData(">=1.0", "2.0", false, true)]
    public void Pre_releases_match_a_set_only_when_asked_for_or_named_by_a_clause(string specifiers, string version, bool? prereleases, bool expected)
    {
        var set = Set(specifiers);
        Assert.Equal(expected, set.Contains(version, prereleases));
        Assert.Equal(expected, set.Contains(Pep440Version.Parse(version), prereleases));
    }

    [Theory]
    [InlineData("===foobar", "FOOBAR", true)]
    [InlineData("===foobar,===FooBar", "foobar", true)]
    [InlineData("===foobar,>=1.0", "foobar", false)]
    [InlineData("", "foobar", false)]
    [InlineData(">=1.0", "foobar", false)]
    public void Text_that_is_not_a_version_matches_only_sets_of_arbitrary_equality_with_that_text(string specifiers, string version, bool expected)
    {
        Assert.Equal(expected, Set(specifiers).Contains(version));
    }

    [Fact]
    public void Filter_leaves_out_pre_releases_when_a_final_release_matches_and_keeps_the_order()
    {
        var versions = Versions("1.3", "1.5a1", "1.2", "1.4", "2.0.dev1", "1.4.post1");
        Assert.Equal(["1.3", "1.4", "1.4.post1"], Set(">=1.2.3").Filter(versions).Select(v => v.ToString()));
    }

    [Fact]
    public void Filter_keeps_pre_releases_when_no_final_release_matches()
    {
        var versions = Versions("1.2", "1.5a1", "1.6b2");
        Assert.Equal(["1.5a1", "1.6b2"], Set(">=1.2.3").Filter(versions).Select(v => v.ToString()));
        Assert.Equal(["1.5a1", "1.6b2"], Set("").Filter(Versions("1.5a1", "1.6b2")).Select(v => v.ToString()));
    }

    [Fact]
    public void Filter_with_pre_releases_refused_returns_nothing_when_only_pre_releases_match()
    {
        Assert.Empty(Set(">=1.2.3").Filter(Versions("1.2", "1.5a1"), prereleases: false));
        Assert.Empty(Set("").Filter(Versions("1.5a1"), prereleases: false));
    }

    [Fact]
    public void Filter_keeps_pre_releases_when_asked_or_when_a_clause_names_one()
    {
        var versions = Versions("1.3", "1.5a1", "0.9");
        Assert.Equal(["1.3", "1.5a1"], Set(">=1.2.3").Filter(versions, prereleases: true).Select(v => v.ToString()));
        Assert.Equal(["1.3", "1.5a1"], Set(">=1.2.3a1").Filter(versions).Select(v => v.ToString()));
        Assert.Equal(["1.3", "1.5a1", "0.9"], Set("").Filter(versions, prereleases: true).Select(v => v.ToString()));
        Assert.Equal(["1.3", "0.9"], Set("").Filter(versions).Select(v => v.ToString()));
    }

    [Fact]
    public void Filter_applies_every_clause()
    {
        var versions = Versions("1.0", "1.1", "1.1.1", "1.2", "2.0", "2.0.1");
        Assert.Equal(["1.1", "1.2"], Set(">=1.1,!=1.1.1,<2").Filter(versions).Select(v => v.ToString()));
        Assert.Empty(Set(">3").Filter(versions));
    }

    [Theory]
    [InlineData(">=1.0,~=1")]
    [InlineData(">=1.0;<2")]
    [InlineData(">=1.0 <2")]
    [InlineData("1.0")]
    [InlineData(">=1.0, french")]
    public void A_set_with_a_malformed_clause_is_rejected_with_the_reason(string text)
    {
        Assert.False(Pep440SpecifierSet.TryParse(text, out var set, out var error));
        Assert.Null(set);
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Theory]
    [InlineData(" >= 1.0 , < 2.0 ", ">=1.0,<2.0", 2)]
    [InlineData("", "", 0)]
    [InlineData(null, "", 0)]
    [InlineData("==1.1.*", "==1.1.*", 1)]
    public void A_set_keeps_its_clauses_in_order_and_prints_them_normalised(string? text, string printed, int count)
    {
        Assert.True(Pep440SpecifierSet.TryParse(text, out var set, out var error));
        Assert.Null(error);
        Assert.Equal(count, set.Clauses.Count);
        Assert.Equal(printed, set.ToString());
    }
}
