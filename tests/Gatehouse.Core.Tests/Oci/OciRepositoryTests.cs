using Gatehouse.Oci;

namespace Gatehouse.Core.Tests.Oci;

/// <summary>Repository names: the distribution spec's grammar, Docker Hub's library/ rule, registries by prefix, and every path trick refused.</summary>
public sealed class OciRepositoryTests
{
    private static readonly OciOptions Options = new()
    {
        Registries = [new OciRegistryOptions { Prefix = "ghcr.io", Url = "https://ghcr.io", AuthHosts = "ghcr.io" }],
    };

    private static OciRepository Resolve(string name)
    {
        var repository = OciRepository.Resolve(name, Options, out var error);
        Assert.True(repository is not null, error);
        Assert.Equal("", error);
        return repository!;
    }

    [Theory]
    [InlineData("alpine", "library/alpine")]
    [InlineData("library/alpine", "library/alpine")]
    [InlineData("bitnami/redis", "bitnami/redis")]
    [InlineData("a/b/c/d", "a/b/c/d")]
    [InlineData("my-org/my.image_x__y", "my-org/my.image_x__y")]
    [InlineData("a--b/c", "a--b/c")]
    public void Names_without_a_configured_prefix_go_to_Docker_Hub_and_one_segment_is_an_official_image(string name, string upstream)
    {
        var repository = Resolve(name);
        Assert.Equal("", repository.Registry.Prefix);
        Assert.Equal("https://registry-1.docker.io", repository.Registry.Url);
        Assert.Equal(name, repository.Name);
        Assert.Equal(upstream, repository.UpstreamName);
    }

    [Theory]
    [InlineData("ghcr.io/org/image", "org/image")]
    [InlineData("ghcr.io/single", "single")]
    [InlineData("GHCR.IO/org/image", "org/image")]
    public void A_configured_prefix_routes_to_its_registry_without_the_library_rule(string name, string upstream)
    {
        var repository = Resolve(name);
        Assert.Equal("ghcr.io", repository.Registry.Prefix);
        Assert.Equal(upstream, repository.UpstreamName);
    }

    [Fact]
    public void A_registry_configured_at_the_root_replaces_Docker_Hub()
    {
        var options = new OciOptions { Registries = [new OciRegistryOptions { Prefix = "", Url = "http://mirror.internal:5000" }] };
        var repository = OciRepository.Resolve("alpine", options, out _)!;
        Assert.Equal("http://mirror.internal:5000", repository.Registry.Url);
        Assert.Equal("alpine", repository.UpstreamName);
    }

    [Theory]
    [InlineData("")]
    [InlineData("../etc/passwd")]
    [InlineData("library/../../v2")]
    [InlineData("a/./b")]
    [InlineData("a//b")]
    [InlineData("/alpine")]
    [InlineData("alpine/")]
    [InlineData("%2e%2e/alpine")]
    [InlineData("a%2fb")]
    [InlineData("a\\b")]
    [InlineData("Alpine")]
    [InlineData("a b")]
    [InlineData("a?b")]
    [InlineData("a#b")]
    [InlineData("-a")]
    [InlineData("a-")]
    [InlineData("a..b")]
    [InlineData("a___b")]
    [InlineData("a:b")]
    [InlineData("ghcr.io/../x")]
    [InlineData("ghcr.io//x")]
    [InlineData("a\u0000b")]
    [InlineData("a\nb")]
    [InlineData("ａlpine")]
    public void Path_tricks_and_names_outside_the_grammar_are_refused_with_a_reason(string name)
    {
        Assert.Null(OciRepository.Resolve(name, Options, out var error));
        Assert.NotEqual("", error);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void A_name_longer_than_255_characters_is_refused()
    {
        var name = string.Join('/', Enumerable.Repeat("abcdefghij", 24)) + "/abcdefghijklmnop";
        Assert.True(name.Length > OciRepository.MaxNameLength);
        Assert.Null(OciRepository.Resolve(name, Options, out var error));
        Assert.Contains("255", error, StringComparison.Ordinal);
        Assert.NotNull(OciRepository.Resolve(name[..OciRepository.MaxNameLength].TrimEnd('/'), Options, out _));
    }

    [Theory]
    [InlineData("latest", true, false)]
    [InlineData("3.20.1", true, false)]
    [InlineData("_x", true, false)]
    [InlineData(".x", false, false)]
    [InlineData("-x", false, false)]
    [InlineData("a/b", false, false)]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false, true)]
    [InlineData("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", false, false)]
    [InlineData("sha256:0123", false, false)]
    [InlineData("md5:0123456789abcdef0123456789abcdef", false, false)]
    public void Tags_and_digests_follow_the_spec(string reference, bool tag, bool digest)
    {
        Assert.Equal(tag, OciRepository.IsTag(reference));
        Assert.Equal(digest, OciRepository.IsDigest(reference));
    }
}
