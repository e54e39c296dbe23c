using Gatehouse.Versions;

namespace Gatehouse.Core.Tests.Versions;

public class Pep440SpecifierTests
{
    private static Pep440Specifier Clause(string text) =>
        Pep440Specifier.TryParse(text, out var clause, out var error) ? clause : throw new InvalidOperationException(error);

    // Matching with pre-releases allowed, so that only the operator decides. Examples from PEP 440's "Version
    // specifiers" section and vectors from pypa/packaging tests/test_specifiers.py.
    [Theory]
    // Compatible release.
    [InlineData("~=2.2", "2.2", true)]
    [InlineData("~=2.2", "2.3", true)]
    [InlineData("~=2.2", "2.9.9", true)]
    [InlineData("~=2.2", "3.0", false)]
    [InlineData("~=2.2", "2.1", false)]
    [InlineData("~=2.2.post3", "2.2.post3", true)]
    [InlineData("~=2.2.post3", "2.3", true)]
    [InlineData("~=2.2.post3", "2.2.post2", false)]
    [InlineData("~=2.2.post3", "2.2", false)]
    [InlineData("~=2.2.post3", "3.0", false)]
    [InlineData("~=1.4.5a4", "1.4.5a4", true)]
    [InlineData("~=1.4.5a4", "1.4.5", true)]
    [InlineData("~=1.4.5a4", "1.4.9", true)]
    [InlineData("~=1.4.5a4", "1.4.5a3", false)]
    [InlineData("~=1.4.5a4", "1.5", false)]
    [InlineData("~=2.2.0", "2.2.0", true)]
    [InlineData("~=2.2.0", "2.2.9", true)]
    [InlineData("~=2.2.0", "2.3.0", false)]
    [InlineData("~=2.2.0", "2.2.post1", true)]
    [InlineData("~=1.0", "1", true)]
    [InlineData("~=1.0", "1.9999999", true)]
    [InlineData("~=1.0", "2.0", false)]
    [InlineData("~=1.0a1", "1.1", true)]
    [InlineData("~=1.0.0", "1.1.post1", false)]
    [InlineData("~=2022.01.01", "2022.01.01", true)]
    [InlineData("~=2!1.0", "2!1.0", true)]
    [InlineData("~=2!1.0", "1.0", false)]
    [InlineData("~=1.0", "2!1.0", false)]
    [InlineData("~=1.4.5", "1.4.6+local", true)]
    // Version matching, including zero padding and the candidate's local label.
    [InlineData("==1.1", "1.1", true)]
    [InlineData("==1.1", "1.1.0", true)]
    [InlineData("==1.1.0", "1.1", true)]
    [InlineData("==1.1", "1.1+local", true)]
    [InlineData("==1.1", "1.1.dev1", false)]
    [InlineData("==1.1", "1.1a1", false)]
    [InlineData("==1.1", "1.1.post1", false)]
    [InlineData("==2.0+deadbeef", "2.0+deadbeef", true)]
    [InlineData("==2.0.0+deadbeef", "2.0+deadbeef", true)]
    [InlineData("==2.0.0+deadbeef.00", "2.0+deadbeef.0", true)]
    [InlineData("==2.0+deadbeef", "2.0", false)]
    [InlineData("==2.0+deadbeef", "2.0+deadbeef.1", false)]
    [InlineData("==2!1.0", "2!1.0", true)]
    [InlineData("==2!1.0", "1.0", false)]
    [InlineData("==1.0", "2!1.0", false)]
    // Prefix matching.
    [InlineData("==1.1.*", "1.1", true)]
    [InlineData("==1.1.*", "1.1.0", true)]
    [InlineData("==1.1.*", "1.1.5", true)]
    [InlineData("==1.1.*", "1.1a1", true)]
    [InlineData("==1.1.*", "1.1.post1", true)]
    [InlineData("==1.1.*", "1.1.dev1", true)]
    [InlineData("==1.1.*", "1.1+local", true)]
    [InlineData("==1.1.*", "1.10", false)]
    [InlineData("==1.1.*", "1.2", false)]
    [InlineData("==1.1.*", "1.0.9", false)]
    [InlineData("==2.*", "2", true)]
    [InlineData("==2.0.0.*", "2", true)]
    [InlineData("==2.0.*", "2.0.0.0", true)]
    [InlineData("==2.0.*", "2.1.0.0", false)]
    [InlineData("==2.0.0.*", "3", false)]
    [InlineData("==0!2.*", "2", true)]
    [InlineData("==2!1.*", "2!1.0", true)]
    [InlineData("==2!1.0.0.0.*", "2!1.0.0", true)]
    [InlineData("==2!1.*", "1.0", false)]
    [InlineData("==1.*", "2!1.0", false)]
    [InlineData("!=1.1.*", "1.1", false)]
    [InlineData("!=1.1.*", "1.1.post1", false)]
    [InlineData("!=1.1.*", "1.1a1", false)]
    [InlineData("!=1.1.*", "1.2", true)]
    [InlineData("!=1.1.*", "1.10", true)]
    [InlineData("!=2.0.*", "2.1.0.0", true)]
    // Version exclusion.
    [InlineData("!=1.1", "1.1", false)]
    [InlineData("!=1.1", "1.1.0", false)]
    [InlineData("!=1.1", "1.1+local", false)]
    [InlineData("!=1.1", "1.1.post1", true)]
    [InlineData("!=1.1", "1.1a1", true)]
    [InlineData("!=2.0+deadbeef", "2.0", true)]
    [InlineData("!=2.0+deadbeef", "2.0+deadbeef", false)]
    [InlineData("!=1.0", "2!1.0", true)]
    // Inclusive ordered comparison (the candidate's local label is ignored).
    [InlineData(">=2", "2.0", true)]
    [InlineData(">=2", "2.0.post1", true)]
    [InlineData(">=2", "2.0.post1.dev1", true)]
    [InlineData(">=2", "2.0+local", true)]
    [InlineData(">=2", "2.0rc1", false)]
    [InlineData(">=2", "2.0.dev1", false)]
    [InlineData(">=2", "1.9", false)]
    [InlineData(">=3.0.0a7", "3.0.0a8", true)]
    [InlineData(">=2.0", "2!1.0", true)]
    [InlineData("<=2", "2.0", true)]
    [InlineData("<=2", "2.0+local", true)]
    [InlineData("<=2", "2.0a1", true)]
    [InlineData("<=2", "2.0.post1", false)]
    [InlineData("<=2", "2.0.post1.dev1", false)]
    [InlineData("<=2", "3", false)]
    [InlineData("<=2!0.1", "1.0", true)]
    // Exclusive ordered comparison.
    [InlineData(">1.7", "1.7.1", true)]
    [InlineData(">1.7", "1.8", true)]
    [InlineData(">1.7", "1.7", false)]
    [InlineData(">1.7", "1.7.0.post1", false)]
    [InlineData(">1.7", "1.7.post1.dev1", false)]
    [InlineData(">1.7", "1.7+local", false)]
    [InlineData(">1.7", "1.7.post1+local", false)]
    [InlineData(">1.7", "1.8+local", true)]
    [InlineData(">1.7", "1.7.1.post1", true)]
    [InlineData(">1.7.post2", "1.7.1", true)]
    [InlineData(">1.7.post2", "1.7.0.post3", true)]
    [InlineData(">1.7.post2", "1.7.post3.dev0", true)]
    [InlineData(">1.7.post2", "1.7.post2", false)]
    [InlineData(">1.7.post2", "1.7.post2+local", false)]
    [InlineData(">1.7.post2", "1.7.post1", false)]
    [InlineData(">1.0a1", "1.0a1.post1", false)]
    [InlineData(">1.0a1", "1.0a1+local", false)]
    [InlineData(">1.0a1", "1.0a2+local", true)]
    [InlineData(">1.0a1", "1.0", true)]
    [InlineData(">1.0a1", "1.0.post1", true)]
    [InlineData(">1.0.dev1", "1.0+local", true)]
    [InlineData(">1.0.dev1", "1.0.dev1+local", false)]
    [InlineData(">1.0.dev1", "1.0.dev2", true)]
    [InlineData(">4.1.0a2.dev1234", "4.1.0a2.dev1235+local", true)]
    [InlineData(">2.0dev", "2.0.5", true)]
    [InlineData(">2", "2.0rc1", false)]
    [InlineData(">2.0", "2!1.0", true)]
    [InlineData("<1.7", "1.6.9", true)]
    [InlineData("<1.7", "1.6.post1", true)]
    [InlineData("<1.7", "1.6+local", true)]
    [InlineData("<1.7", "1.7a1", false)]
    [InlineData("<1.7", "1.7.dev0", false)]
    [InlineData("<1.7", "1.7rc1.post1", false)]
    [InlineData("<1.7", "1.7", false)]
    [InlineData("<1.7", "1.7+local", false)]
    [InlineData("<1.7", "1.7.0.1", false)]
    [InlineData("<1.7", "1.6.99a1", true)]
    [InlineData("<1.7rc1", "1.7a1", true)]
    [InlineData("<1.7rc1", "1.7rc1", false)]
    [InlineData("<1.7rc1", "1.7rc1.dev1", true)]
    [InlineData("<1.7.post1", "1.7", true)]
    [InlineData("<1.7.post1", "1.7.post1.dev1", false)]
    [InlineData("<3.0.0a8", "3.0.0a7", true)]
    [InlineData("<2!0.1", "1.0", true)]
    [InlineData("<2", "2.post1", false)]
    // Arbitrary equality compares text.
    [InlineData("===1.0", "1.0", true)]
    [InlineData("===1.0", "1.0.0", false)]
    [InlineData("===1.0", "1.0+downstream1", false)]
    [InlineData("===1.0+downstream1", "1.0", false)]
    [InlineData("===1.0a1", "1.0A1", true)]
    [InlineData("===1.0+LOCAL", "1.0+local", true)]
    public void An_operator_matches_as_the_specification_says(string specifier, string version, bool expected)
    {
        var clause = Clause(specifier);
        Assert.Equal(expected, clause.Contains(version, prereleases: true));
        Assert.Equal(expected, clause.Contains(Pep440Version.Parse(version), prereleases: true));
    }

    [Theory]
    [InlineData("===foobar", "foobar", true)]
    [InlineData("===foobar", "FooBar", true)]
    [InlineData("===foobar", " foobar ", true)]
    [InlineData("===foobar", "foobaz", false)]
    [InlineData("===invalid", "invalid", true)]
    [InlineData("===1.0-linux", "1.0-LINUX", true)]
    [InlineData("==1.0", "not a valid version", false)]
    [InlineData("==1.*", "not a valid version", false)]
    [InlineData(">=1.0", "not a valid version", false)]
    [InlineData(">1.0", "not a valid version", false)]
    [InlineData("<=1.0", "not a valid version", false)]
    [InlineData("<1.0", "not a valid version", false)]
    [InlineData("~=1.0", "not a valid version", false)]
    [InlineData("!=1.0", "not a valid version", false)]
    [InlineData("!=1.*", "not a valid version", false)]
    public void Text_that_is_not_a_version_matches_only_arbitrary_equality_with_the_same_text(string specifier, string version, bool expected)
    {
        Assert.Equal(expected, Clause(specifier).Contains(version, prereleases: true));
        Assert.Equal(expected, Clause(specifier).Contains(version));
    }

    [Fact]
    public void Arbitrary_equality_with_a_parsed_version_compares_its_normalised_text()
    {
        Assert.True(Clause("===1.0a1").Contains(Pep440Version.Parse("1.0alpha1")));
        Assert.False(Clause("===1.0alpha1").Contains(Pep440Version.Parse("1.0alpha1")));
        Assert.True(Clause("===1.0alpha1").Contains("1.0ALPHA1"));
    }

    [Theory]
    // A clause that names a pre-release admits pre-releases by default; != never does, and a wildcard cannot name one.
    [InlineData(">=1.0", "2.0a1", null, false)]
    [InlineData(">=1.0", "2.0a1", true, true)]
    [InlineData(">=1.0", "2.0", false, true)]
    [InlineData(">1.0", "2.0.dev1", null, false)]
    [InlineData(">1.0", "2.0.dev1", true, true)]
    [InlineData(">=2.0.dev1", "2.0a1", null, true)]
    [InlineData(">=2.0.dev1", "2.0a1", false, false)]
    [InlineData(">1.0.dev1", "1.1.dev1", null, true)]
    [InlineData("<1.0.dev1", "0.9.dev1", null, true)]
    [InlineData("<1.0.dev1", "0.9.dev1", false, false)]
    [InlineData("==2.0.*", "2.0.dev1", null, false)]
    [InlineData("==2.0.*", "2.0.dev1", true, true)]
    [InlineData("==1.0a1", "1.0a1", null, true)]
    [InlineData("~=1.4.5a4", "1.4.5b1", null, true)]
    [InlineData("!=1.0a1", "1.0a2", null, false)]
    [InlineData("!=1.0a1", "1.0a2", true, true)]
    [InlineData("===1.0a1", "1.0a1", null, true)]
    [InlineData("<=2.0", "1.0.post1", null, true)]
    public void Pre_releases_match_a_clause_only_when_asked_for_or_named_by_it(string specifier, string version, bool? prereleases, bool expected)
    {
        Assert.Equal(expected, Clause(specifier).Contains(version, prereleases));
        Assert.Equal(expected, Clause(specifier).Contains(Pep440Version.Parse(version), prereleases));
    }

    [Theory]
    [InlineData("2.0")]
    [InlineData("=>2.0")]
    [InlineData("=2.0")]
    [InlineData("==")]
    [InlineData("")]
    [InlineData(">= ")]
    [InlineData("~=1")]
    [InlineData("~=1.*")]
    [InlineData("~=1.0.*")]
    [InlineData(">=1.0.*")]
    [InlineData("<=1.0.*")]
    [InlineData(">1.0.*")]
    [InlineData("<1.0.*")]
    [InlineData("~=1.0+5")]
    [InlineData(">=1.0+deadbeef")]
    [InlineData("<=1.0+abc123")]
    [InlineData(">1.0+watwat")]
    [InlineData("<1.0+1.0")]
    [InlineData("==1.0.*+5")]
    [InlineData("!=1.0.*+deadbeef")]
    [InlineData("==2.0a1.*")]
    [InlineData("!=2.0a1.*")]
    [InlineData("==2.0.post1.*")]
    [InlineData("==2.0.dev1.*")]
    [InlineData("==1.0+5.*")]
    [InlineData("==1.0.*.5")]
    [InlineData("==1.*.*")]
    [InlineData("==french toast")]
    [InlineData("==1.2+\u0130")]
    [InlineData("~=1.2.3po\u017ft1")]
    [InlineData("=== foo bar")]
    [InlineData("===")]
    [InlineData(null)]
    public void Malformed_clauses_are_rejected_with_a_reason(string? text)
    {
        Assert.False(Pep440Specifier.TryParse(text, out var clause, out var error));
        Assert.Null(clause);
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public void The_compatible_release_error_names_its_rule()
    {
        Assert.False(Pep440Specifier.TryParse("~=1", out _, out var error));
        Assert.Contains("two release segments", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("~=2.0", "~=", "2.0", false, "~=2.0")]
    [InlineData("< 2", "<", "2", false, "<2")]
    [InlineData("  >=  v1.0RC1  ", ">=", "1.0rc1", false, ">=1.0rc1")]
    [InlineData("==1.1.*", "==", "1.1", true, "==1.1.*")]
    [InlineData("!= 1!1.1.*", "!=", "1!1.1", true, "!=1!1.1.*")]
    [InlineData("==1.0+Ubuntu-1", "==", "1.0+ubuntu.1", false, "==1.0+ubuntu.1")]
    [InlineData("=== FooBar", "===", null, false, "===FooBar")]
    [InlineData("===1.0", "===", "1.0", false, "===1.0")]
    public void A_clause_exposes_its_operator_and_version_and_prints_normalised(string text, string op, string? version, bool wildcard, string printed)
    {
        var clause = Clause(text);
        Assert.Equal(op, clause.Operator);
        Assert.Equal(version, clause.Version?.ToString());
        Assert.Equal(wildcard, clause.IsWildcard);
        Assert.Equal(printed, clause.ToString());
    }
}
