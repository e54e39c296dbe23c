using Gatehouse.Audit;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gatehouse.Core.Tests.Audit;

/// <summary>How artifact filters, query parameters and times are read, and which index partitions a record lands in.</summary>
public sealed class AuditQueryTests
{
    private static readonly DateTimeOffset Now = new(2026, 5, 10, 12, 0, 0, TimeSpan.Zero);
    private const string Sha = "ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789";

    [Theory]
    [InlineData(Sha, AuditArtifactKind.Sha256, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789", "sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")]
    [InlineData("Gh_X==1.0", AuditArtifactKind.Release, "gh-x==1.0", "release:gh-x==1.0")]
    [InlineData("gh.x==v1.0-RC1", AuditArtifactKind.Release, "gh-x==1.0rc1", "release:gh-x==1.0rc1")]
    [InlineData("gh-x", AuditArtifactKind.Package, "gh-x", "package:gh-x")]
    [InlineData("pypi:Gh__X", AuditArtifactKind.Package, "gh-x", "package:gh-x")]
    [InlineData("Org/Model@ABC123", AuditArtifactKind.Commit, "org/model@abc123", "commit:org%2Fmodel@abc123")]
    [InlineData("datasets/org/set@abc", AuditArtifactKind.Commit, "datasets/org/set@abc", "commit:datasets%2Forg%2Fset@abc")]
    [InlineData("Org/Model", AuditArtifactKind.Repository, "org/model", "repo:org%2Fmodel")]
    [InlineData("hf:gpt2", AuditArtifactKind.Repository, "gpt2", "repo:gpt2")]
    public void An_artifact_filter_names_its_kind_and_index_partition(string text, AuditArtifactKind kind, string display, string key)
    {
        var filter = AuditIndex.ParseFilter(text, out var problem);
        Assert.True(filter is not null, problem);
        Assert.Equal(new AuditArtifactFilter(kind, display, key), filter);
    }

    [Theory]
    [InlineData("")]
    [InlineData("gh x")]
    [InlineData("==1.0")]
    [InlineData("gh-x==")]
    [InlineData("@abc")]
    [InlineData("hf:")]
    [InlineData("a=b")]
    [InlineData("line\nbreak")]
    public void What_is_no_artifact_is_refused_with_the_shapes_that_are(string text)
    {
        Assert.Null(AuditIndex.ParseFilter(text, out var problem));
        Assert.Contains("project==version", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_filter_longer_than_any_name_is_refused() =>
        Assert.Null(AuditIndex.ParseFilter(new string('a', AuditIndex.MaxFilterLength + 1), out _));

    [Fact]
    public void A_download_of_a_PyPI_file_is_indexed_by_sha256_package_release_and_token_and_each_filter_finds_it()
    {
        var artifact = new AuditArtifact("pypi", "gh-x 1.0.0", "gh_x-1.0.0.tar.gz", Sha);
        var keys = AuditIndex.Keys(artifact, "tok123", null);

        Assert.Equal(["sha256:" + Sha.ToLowerInvariant(), "package:gh-x", "release:gh-x==1.0.0", "token:tok123"], keys);
        foreach (var filter in new[] { Sha, "gh-x", "GH_X==1.0.0", "gh.x" })
        {
            Assert.Contains(AuditIndex.ParseFilter(filter, out _)!.IndexKey, keys);
        }
    }

    [Fact]
    public void A_Hugging_Face_file_is_indexed_by_repository_and_commit_escaped_and_a_token_action_by_both_tokens()
    {
        var artifact = new AuditArtifact("hf", "Org/Model@0123abc", "weights.bin", null);
        var keys = AuditIndex.Keys(artifact, "admin1", "reader2");

        Assert.Equal(["repo:org%2Fmodel", "commit:org%2Fmodel@0123abc", "token:admin1", "token:reader2"], keys);
        Assert.Contains(AuditIndex.ParseFilter("org/model@0123ABC", out _)!.IndexKey, keys);
        Assert.Contains(AuditIndex.ParseFilter("org/model", out _)!.IndexKey, keys);
    }

    [Fact]
    public void A_version_the_file_name_did_not_tell_gives_no_release_key_and_the_same_token_is_indexed_once()
    {
        Assert.Equal(["package:gh-x", "token:t"], AuditIndex.Keys(new AuditArtifact("pypi", "gh-x ?", "gh_x.zip", "not-a-sha"), "t", "t"));
    }

    [Fact]
    public void Key_escaping_keeps_distinct_values_distinct_and_forbidden_characters_out()
    {
        Assert.Equal("a%2Fb%25c%23d%3Fe%5Cf%0A", AuditIndex.Escape("a/b%c#d?e\\f\n"));
        Assert.NotEqual(AuditIndex.Escape("a/b"), AuditIndex.Escape("a%2Fb"));
    }

    [Fact]
    public void Every_parameter_is_read()
    {
        var query = Parse(new() { ["artifact"] = "gh-x==1.0", ["token"] = "tok", ["from"] = "2026-05-01", ["to"] = "12h", ["action"] = "download", ["limit"] = "25", ["continuation"] = "abc" });

        Assert.Equal(new AuditQuery(new AuditArtifactFilter(AuditArtifactKind.Release, "gh-x==1.0", "release:gh-x==1.0"), "tok",
            new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero), Now.AddHours(-12), "download", 25, "abc"), query);
    }

    [Fact]
    public void Nothing_asked_is_the_newest_default_page() =>
        Assert.Equal(new AuditQuery(null, null, null, null, null, AuditQuery.DefaultLimit, null), Parse([]));

    [Theory]
    [InlineData("limit", "0", "'limit'")]
    [InlineData("limit", "1001", "'limit'")]
    [InlineData("limit", "-5", "'limit'")]
    [InlineData("from", "yesterday", "'from'")]
    [InlineData("to", "5x", "'to'")]
    [InlineData("artifact", "a b", "project==version")]
    [InlineData("since", "7d", "Unknown parameter 'since'")]
    public void A_bad_parameter_is_refused_and_named(string name, string value, string named)
    {
        Assert.Null(AuditQuery.Parse(new QueryCollection(new Dictionary<string, StringValues> { [name] = value }), Now, out var problem));
        Assert.Contains(named, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_range_that_ends_before_it_starts_and_a_repeated_parameter_are_refused()
    {
        Assert.Null(AuditQuery.Parse(new QueryCollection(new Dictionary<string, StringValues> { ["from"] = "1d", ["to"] = "2d" }), Now, out var backwards));
        Assert.Contains("after", backwards, StringComparison.Ordinal);
        Assert.Null(AuditQuery.Parse(new QueryCollection(new Dictionary<string, StringValues> { ["token"] = new(["a", "b"]) }), Now, out var twice));
        Assert.Contains("once", twice, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("90m", 0, 90)]
    [InlineData("12h", 12, 0)]
    [InlineData("7d", 168, 0)]
    public void An_age_is_counted_back_from_now(string text, int hours, int minutes) =>
        Assert.Equal(Now - new TimeSpan(hours, minutes, 0), AuditQuery.ParseTime(text, Now));

    [Theory]
    [InlineData("2026-05-01T12:30:00Z", 12)]
    [InlineData("2026-05-01T14:30:00+02:00", 12)]
    [InlineData("2026-05-01T12:30:00", 12)]
    public void An_ISO_time_without_an_offset_is_UTC(string text, int utcHour) =>
        Assert.Equal(new DateTimeOffset(2026, 5, 1, utcHour, 30, 0, TimeSpan.Zero), AuditQuery.ParseTime(text, Now));

    private static AuditQuery? Parse(Dictionary<string, StringValues> values)
    {
        var query = AuditQuery.Parse(new QueryCollection(values), Now, out var problem);
        Assert.True(query is not null, problem);
        return query;
    }
}
