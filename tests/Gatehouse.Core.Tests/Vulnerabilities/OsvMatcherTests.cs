using Gatehouse.Vulnerabilities;

namespace Gatehouse.Core.Tests.Vulnerabilities;

/// <summary>The OSV schema's evaluation (https://ossf.github.io/osv-schema/#evaluation) over PEP 440 versions.</summary>
public class OsvMatcherTests
{
    internal static OsvRecord Record(params OsvAffected[] affected) =>
        new() { Id = "TEST-0000-1", Modified = "2026-01-01T00:00:00Z", Affected = affected };

    internal static OsvAffected Package(string name, IReadOnlyList<string>? versions, params OsvRange[] ranges) =>
        new() { Package = new OsvPackage("PyPI", name, null), Versions = versions, Ranges = ranges };

    internal static OsvRange Range(params OsvEvent[] events) => new("ECOSYSTEM", null, events);

    private static OsvEvent Introduced(string v) => new(Introduced: v);
    private static OsvEvent Fixed(string v) => new(Fixed: v);
    private static OsvEvent LastAffected(string v) => new(LastAffected: v);
    private static OsvEvent Limit(string v) => new(Limit: v);

    [Theory]
    [InlineData("0.0.1", true)]
    [InlineData("1.0.0", true)]
    [InlineData("1.0.post1", true)]
    [InlineData("1.1.0rc1", true)]
    [InlineData("1.1.0.dev3", true)]
    [InlineData("1.1.0", false)]
    [InlineData("1.1", false)]
    [InlineData("1.1.1", false)]
    [InlineData("2.0", false)]
    public void Introduced_zero_and_fixed_cover_everything_below_the_fix_pre_releases_of_it_included(string version, bool affected) =>
        Assert.Equal(affected, OsvMatcher.Affects(Record(Package("demo", null, Range(Introduced("0"), Fixed("1.1.0")))), "demo", version));

    [Theory]
    [InlineData("0.9", false)]
    [InlineData("1.0rc1", false)]
    [InlineData("1.0", true)]
    [InlineData("1.2", true)]
    [InlineData("1.2.0", true)]
    [InlineData("1.2.post1", false)]
    [InlineData("1.2.1", false)]
    public void Last_affected_is_inclusive(string version, bool affected) =>
        Assert.Equal(affected, OsvMatcher.Affects(Record(Package("demo", null, Range(Introduced("1.0"), LastAffected("1.2")))), "demo", version));

    [Theory]
    [InlineData("1.5", true)]
    [InlineData("2.0", false)]
    [InlineData("2.5", false)]
    public void A_limit_caps_a_range_with_no_fix(string version, bool affected) =>
        Assert.Equal(affected, OsvMatcher.Affects(Record(Package("demo", null, Range(Introduced("0"), Limit("2.0")))), "demo", version));

    [Theory]
    [InlineData("1.5", true)]
    [InlineData("2.5", true)]
    [InlineData("3.0", false)]
    public void Any_limit_above_the_version_lets_it_through(string version, bool affected) =>
        Assert.Equal(affected, OsvMatcher.Affects(Record(Package("demo", null, Range(Introduced("0"), Limit("2.0"), Limit("3.0")))), "demo", version));

    [Fact]
    public void A_star_limit_is_infinity() =>
        Assert.True(OsvMatcher.Affects(Record(Package("demo", null, Range(Introduced("0"), Limit("*")))), "demo", "999.0"));

    /// <summary>
    /// Events are evaluated sorted, whatever order the record lists them in (the GHSA passenger record in ossf/osv-schema
    /// tools/ghsa/testdata/multiple_ranges_in_package.osv.json lists introduced 0, introduced 4.0.1, fixed 4.0.5, fixed 3.0.21).
    /// </summary>
    [Theory]
    [InlineData("3.0.20", true)]
    [InlineData("3.0.21", false)]
    [InlineData("4.0.0", false)]
    [InlineData("4.0.1", true)]
    [InlineData("4.0.4", true)]
    [InlineData("4.0.5", false)]
    public void Unsorted_events_are_sorted_first(string version, bool affected) =>
        Assert.Equal(affected, OsvMatcher.Affects(
            Record(Package("demo", null, Range(Introduced("0"), Introduced("4.0.1"), Fixed("4.0.5"), Fixed("3.0.21")))), "demo", version));

    [Theory]
    [InlineData("0.0.1", true)]
    [InlineData("0.0.1.0", true)]
    [InlineData("0.0.2", false)]
    [InlineData("0.0.0", false)]
    public void Versions_alone_list_exactly_the_affected_releases(string version, bool affected) =>
        Assert.Equal(affected, OsvMatcher.Affects(Record(Package("123bla", ["0.0.1"])), "123bla", version));

    [Fact]
    public void A_version_that_is_not_pep_440_matches_only_by_its_exact_text()
    {
        var record = Record(Package("demo", ["weird-1"], Range(Introduced("0"))));
        Assert.True(OsvMatcher.Affects(record, "demo", "weird-1"));
        Assert.False(OsvMatcher.Affects(record, "demo", "weird-2"));
    }

    [Theory]
    [InlineData("1!0.5", false)]
    [InlineData("5.0", true)]
    [InlineData("1!1.0", false)]
    public void Epochs_order_before_release_numbers(string version, bool affected) =>
        Assert.Equal(affected, OsvMatcher.Affects(Record(Package("demo", null, Range(Introduced("0"), Fixed("1!0.1")))), "demo", version));

    [Fact]
    public void A_withdrawn_advisory_affects_nothing()
    {
        var record = Record(Package("demo", ["1.0"], Range(Introduced("0")))) with { Withdrawn = "2026-02-01T00:00:00Z" };
        Assert.False(OsvMatcher.Affects(record, "demo", "1.0"));
    }

    [Theory]
    [InlineData("Products.PluggableAuthService", true)]
    [InlineData("products_pluggableauthservice", true)]
    [InlineData("products-pluggable-authservice", false)]
    public void Project_names_compare_pep_503_normalised(string asked, bool affected) =>
        Assert.Equal(affected, OsvMatcher.Affects(Record(Package("products-pluggableauthservice", null, Range(Introduced("0")))), asked, "2.0"));

    [Fact]
    public void Another_ecosystem_with_the_same_name_does_not_match()
    {
        var npm = new OsvAffected { Package = new OsvPackage("npm", "demo", null), Ranges = [Range(Introduced("0"))] };
        Assert.False(OsvMatcher.Affects(Record(npm), "demo", "1.0"));
    }

    [Fact]
    public void Git_ranges_are_skipped_and_semver_ranges_read_as_pep_440()
    {
        var git = Record(Package("demo", null, new OsvRange("GIT", "https://example.invalid/demo.git", [Introduced("0"), Fixed("74ea7cf7")])));
        var semver = Record(Package("demo", null, new OsvRange("SEMVER", null, [Introduced("0"), Fixed("2.0")])));
        Assert.False(OsvMatcher.Affects(git, "demo", "1.0"));
        Assert.True(OsvMatcher.Affects(semver, "demo", "1.0"));
        Assert.False(OsvMatcher.Affects(semver, "demo", "2.0"));
    }

    [Fact]
    public void Fixed_versions_are_pep_440_ordered_without_duplicates_and_only_for_the_project()
    {
        var record = Record(
            Package("demo", null, Range(Introduced("0"), Fixed("2.0")), Range(Introduced("10.0a1"), Fixed("10.0")), new OsvRange("GIT", null, [Fixed("abc123")])),
            Package("Demo", null, Range(Introduced("1.5"), Fixed("1.5.3"), Introduced("2.0.0"), Fixed("2.0.0"))),
            Package("other", null, Range(Introduced("0"), Fixed("0.5"))));
        Assert.Equal(["1.5.3", "2.0", "10.0"], OsvMatcher.FixedIn(record, "DEMO"));
    }

    /// <summary>The committed fixture records, matched as their texts say.</summary>
    [Theory]
    [InlineData("PYSEC-2023-74", "requests", "2.30.0", true)]
    [InlineData("PYSEC-2023-74", "requests", "2.3.0", true)]
    [InlineData("PYSEC-2023-74", "requests", "2.2.1", false)]
    [InlineData("PYSEC-2023-74", "requests", "2.31.0", false)]
    [InlineData("PYSEC-2021-66", "jinja2", "2.0rc1", true)]
    [InlineData("PYSEC-2021-66", "Jinja2", "2.11.2", true)]
    [InlineData("PYSEC-2021-66", "jinja2", "2.11.3", false)]
    [InlineData("PYSEC-0000-GH-DEP-1", "gh-dep", "1.0.0", true)]
    [InlineData("PYSEC-0000-GH-DEP-1", "gh_dep", "1.1.0", false)]
    [InlineData("MAL-0000-GH-TYPO-1", "gh-typo", "0.0.1", true)]
    [InlineData("MAL-2024-10238", "123bla", "0.0.1", true)]
    [InlineData("MAL-2024-10238", "123bla", "0.0.2", false)]
    [InlineData("GHSA-p44j-xrqg-4xrr", "Products.PluggableAuthService", "2.6.0", true)]
    [InlineData("GHSA-p44j-xrqg-4xrr", "Products.PluggableAuthService", "2.6.1", false)]
    public void Fixture_records_match_as_published(string id, string project, string version, bool affected) =>
        Assert.Equal(affected, OsvMatcher.Affects(OsvFixtures.Load(id), project, version));
}
