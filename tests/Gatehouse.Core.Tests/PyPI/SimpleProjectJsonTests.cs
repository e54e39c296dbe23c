using System.Text.Json.Nodes;
using Gatehouse.PyPI;

namespace Gatehouse.Core.Tests.PyPI;

public class SimpleProjectJsonTests
{
    private const string ShaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string ShaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private const string ShaM = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private static readonly Uri PageUrl = new("https://pypi.example/simple/demo/");
    private static readonly DateTimeOffset FetchedAt = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static SimpleProject Parse(string json) => SimpleProjectJson.Parse(JsonNode.Parse(json)!.AsObject(), PageUrl, "demo", FetchedAt);

    private static SimpleFile Single(string fileJson) => Assert.Single(Parse($$$"""{"name":"demo","files":[{{{fileJson}}}]}""").Files);

    [Theory]
    [InlineData("../../packages/ab/demo-1.0.tar.gz", "https://pypi.example/packages/ab/demo-1.0.tar.gz")] // relative: resolved against the page
    [InlineData("https://files.example/p/demo-1.0.tar.gz", "https://files.example/p/demo-1.0.tar.gz")] // absolute: kept
    public void A_file_url_is_resolved_against_the_page_url(string url, string expected)
    {
        var file = Single($$$"""{"filename":"demo-1.0.tar.gz","url":"{{{url}}}","hashes":{"sha256":"{{{ShaA}}}"}}""");
        Assert.Equal(expected, file.Url);
    }

    [Fact]
    public void The_fields_of_a_file_are_kept_and_its_sha256_is_lower_cased()
    {
        var file = Single($$$"""
            {"filename":"demo-1.0-py3-none-any.whl","url":"x.whl","hashes":{"sha256":"{{{ShaA.ToUpperInvariant()}}}","md5":"00"},
             "size":1234,"upload-time":"2024-01-01T00:00:00.000000Z","requires-python":">=3.9","provenance":"https://p.example/prov"}
            """);
        Assert.Equal(ShaA, file.Sha256);
        Assert.Equal(1234, file.Size);
        Assert.Equal("2024-01-01T00:00:00.000000Z", file.UploadTime);
        Assert.Equal(">=3.9", file.RequiresPython);
        Assert.Equal("https://p.example/prov", file.Provenance);
        Assert.False(file.Yanked);
        Assert.True(file.IsWheel);
    }

    [Fact]
    public void Yanked_true_is_yanked_without_a_reason()
    {
        var file = Single($$$"""{"filename":"demo-1.0.tar.gz","url":"x","hashes":{"sha256":"{{{ShaA}}}"},"yanked":true}""");
        Assert.True(file.Yanked);
        Assert.Null(file.YankedReason);
    }

    [Fact]
    public void Yanked_false_is_not_yanked()
    {
        var file = Single($$$"""{"filename":"demo-1.0.tar.gz","url":"x","hashes":{"sha256":"{{{ShaA}}}"},"yanked":false}""");
        Assert.False(file.Yanked);
    }

    [Fact]
    public void Yanked_as_a_string_is_yanked_with_that_reason()
    {
        var file = Single($$$"""{"filename":"demo-1.0.tar.gz","url":"x","hashes":{"sha256":"{{{ShaA}}}"},"yanked":"broken on 3.12"}""");
        Assert.True(file.Yanked);
        Assert.Equal("broken on 3.12", file.YankedReason);
    }

    [Theory]
    [InlineData("core-metadata")]
    [InlineData("dist-info-metadata")] // the legacy key, read when core-metadata is absent
    [InlineData("data-dist-info-metadata")] // PyPI's misnamed key, read when it is the only one
    public void Core_metadata_with_a_sha256_is_advertised_with_it_under_each_of_its_keys(string key)
    {
        var file = Single($$$"""{"filename":"demo-1.0-py3-none-any.whl","url":"x","hashes":{"sha256":"{{{ShaA}}}"},"{{{key}}}":{"sha256":"{{{ShaM}}}"}}""");
        Assert.True(file.HasCoreMetadata);
        Assert.Equal(ShaM, file.CoreMetadataSha256);
    }

    [Theory]
    [InlineData("true")] // true without a hash
    [InlineData("""{"sha256":"nothex"}""")] // a malformed hash
    [InlineData("false")]
    public void Core_metadata_without_a_valid_sha256_is_not_advertised(string coreMetadata)
    {
        var file = Single($$$"""{"filename":"demo-1.0-py3-none-any.whl","url":"x","hashes":{"sha256":"{{{ShaA}}}"},"core-metadata":{{{coreMetadata}}}}""");
        Assert.False(file.HasCoreMetadata);
        Assert.Null(file.CoreMetadataSha256);
    }

    [Fact]
    public void Files_without_a_valid_sha256_are_dropped()
    {
        var project = Parse($$$"""
            {"name":"demo","files":[
              {"filename":"demo-1.0.tar.gz","url":"a","hashes":{}},
              {"filename":"demo-1.1.tar.gz","url":"b","hashes":{"md5":"d41d8cd98f00b204e9800998ecf8427e"}},
              {"filename":"demo-1.2.tar.gz","url":"c"},
              {"filename":"demo-1.3.tar.gz","url":"d","hashes":{"sha256":"short"}},
              {"filename":"demo-1.4.tar.gz","url":"e","hashes":{"sha256":"{{{ShaB}}}"}}
            ]}
            """);
        Assert.Equal(["demo-1.4.tar.gz"], project.Files.Select(f => f.Filename));
    }

    [Fact]
    public void Files_with_invalid_names_or_no_url_are_dropped()
    {
        var project = Parse($$$"""
            {"name":"demo","files":[
              {"filename":"../demo-1.0.tar.gz","url":"a","hashes":{"sha256":"{{{ShaA}}}"}},
              {"filename":"demo-1.0.tar.gz#x","url":"a","hashes":{"sha256":"{{{ShaA}}}"}},
              {"filename":"demo-1.1.tar.gz","hashes":{"sha256":"{{{ShaA}}}"}},
              {"url":"a","hashes":{"sha256":"{{{ShaA}}}"}},
              {"filename":"demo-1.2.tar.gz","url":"a","hashes":{"sha256":"{{{ShaB}}}"}}
            ]}
            """);
        Assert.Equal(["demo-1.2.tar.gz"], project.Files.Select(f => f.Filename));
    }

    [Fact]
    public void Versions_are_derived_from_file_names_when_the_page_has_none()
    {
        var project = Parse($$$"""
            {"name":"demo","files":[
              {"filename":"demo-1.0.tar.gz","url":"a","hashes":{"sha256":"{{{ShaA}}}"}},
              {"filename":"demo-1.0-py3-none-any.whl","url":"b","hashes":{"sha256":"{{{ShaB}}}"}},
              {"filename":"demo-2.0b1-py3-none-any.whl","url":"c","hashes":{"sha256":"{{{ShaM}}}"}}
            ]}
            """);
        Assert.Equal(["1.0", "2.0b1"], project.Versions);
    }

    [Fact]
    public void The_page_versions_are_kept_when_present_including_file_less_versions()
    {
        var project = Parse($$$"""
            {"name":"demo","versions":["0.9","1.0"],"files":[
              {"filename":"demo-1.0.tar.gz","url":"a","hashes":{"sha256":"{{{ShaA}}}"}}
            ]}
            """);
        Assert.Equal(["0.9", "1.0"], project.Versions);
    }

    [Fact]
    public void The_project_takes_the_normalized_name_the_status_and_the_fetch_time()
    {
        var project = Parse("""{"name":"Demo","project-status":{"status":"quarantined","reason":"malware report"},"files":[]}""");
        Assert.Equal("demo", project.Name);
        Assert.Equal("quarantined", project.ProjectStatus);
        Assert.Equal("malware report", project.ProjectStatusReason);
        Assert.Equal(FetchedAt, project.FetchedAt);
        Assert.Empty(project.Files);
    }
}
