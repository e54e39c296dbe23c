using System.Text;
using Gatehouse.Oci;

namespace Gatehouse.Core.Tests.Oci;

public sealed class OciManifestTests
{
    private static readonly string Config = "sha256:" + new string('c', 64);
    private static readonly string Layer = "sha256:" + new string('a', 64);

    private static byte[] Image(string mediaType = OciMediaTypes.OciManifest, string layerDigest = "", string extra = "") => Encoding.UTF8.GetBytes($$"""
        {"schemaVersion":2,"mediaType":"{{mediaType}}",{{extra}}
         "config":{"mediaType":"{{OciMediaTypes.OciConfig}}","digest":"{{Config}}","size":120},
         "layers":[{"mediaType":"{{OciMediaTypes.OciLayerGzip}}","digest":"{{(layerDigest.Length > 0 ? layerDigest : Layer)}}","size":4096}]}
        """);

    [Fact]
    public void An_image_manifest_lists_its_config_then_its_layers_and_is_named_by_the_sha256_of_its_bytes()
    {
        var body = Image();

        var manifest = OciManifest.Parse(body, null);

        Assert.False(manifest.IsIndex);
        Assert.Equal(OciManifest.DigestOf(body), manifest.Digest);
        Assert.Equal([Config, Layer], manifest.Blobs.Select(b => b.Digest).ToArray());
        Assert.Equal(4096, manifest.Layers[0].Size);
        Assert.Equal(new string('a', 64), manifest.Layers[0].Sha256);
    }

    [Fact]
    public void An_index_lists_its_platforms()
    {
        var body = Encoding.UTF8.GetBytes($$$"""
            {"schemaVersion":2,"mediaType":"{{{OciMediaTypes.OciIndex}}}","manifests":[
              {"mediaType":"{{{OciMediaTypes.OciManifest}}}","digest":"{{{Layer}}}","size":500,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
              {"mediaType":"{{{OciMediaTypes.OciManifest}}}","digest":"{{{Config}}}","size":501,"platform":{"os":"linux","architecture":"amd64"}}]}
            """);

        var index = OciManifest.Parse(body, null);

        Assert.True(index.IsIndex);
        Assert.Equal(new[] { "linux/arm64/v8", "linux/amd64" }, index.Manifests.Select(m => m.Platform!).ToArray());
        Assert.Empty(index.Blobs);
    }

    [Fact]
    public void A_docker_manifest_without_a_media_type_field_takes_the_upstreams_content_type()
    {
        var body = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"config":{"mediaType":"x","digest":"{{Config}}","size":1},"layers":[]}""");

        Assert.Equal(OciMediaTypes.DockerManifest, OciManifest.Parse(body, OciMediaTypes.DockerManifest + "; charset=utf-8").MediaType);
        Assert.Throws<OciManifestException>(() => OciManifest.Parse(body, null));
    }

    public static TheoryData<string, byte[]> Unreadable => new()
    {
        { "not JSON", Encoding.UTF8.GetBytes("<html>") },
        { "an array", Encoding.UTF8.GetBytes("[]") },
        { "schema 1", Encoding.UTF8.GetBytes("""{"schemaVersion":1,"mediaType":"application/vnd.docker.distribution.manifest.v1+json"}""") },
        { "schema version 3", Encoding.UTF8.GetBytes($$"""{"schemaVersion":3,"mediaType":"{{OciMediaTypes.OciManifest}}","config":{},"layers":[]}""") },
        { "no config", Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{OciMediaTypes.OciManifest}}","layers":[]}""") },
        { "no layers", Encoding.UTF8.GetBytes($$$"""{"schemaVersion":2,"mediaType":"{{{OciMediaTypes.OciManifest}}}","config":{"digest":"{{{Config}}}","size":1}}""") },
        { "a sha512 layer", Image(layerDigest: "sha512:" + new string('a', 128)) },
        { "an upper-case digest", Image(layerDigest: "sha256:" + new string('A', 64)) },
        { "a digest with a path", Image(layerDigest: "sha256:../../" + new string('a', 58)) },
        { "a negative size", Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{OciMediaTypes.OciManifest}}","config":{"digest":"{{Config}}","size":-1},"layers":[]}""") },
        { "nested too deep", Encoding.UTF8.GetBytes(new string('[', 200) + new string(']', 200)) },
    };

    [Theory]
    [MemberData(nameof(Unreadable))]
    public void A_manifest_Gatehouse_cannot_read_is_refused_with_what_is_wrong(string what, byte[] body)
    {
        var error = Assert.Throws<OciManifestException>(() => OciManifest.Parse(body, null));

        Assert.False(string.IsNullOrWhiteSpace(error.Message), what);
    }

    [Fact]
    public void More_layers_than_any_image_has_are_refused_before_they_are_walked()
    {
        var layers = string.Join(',', Enumerable.Repeat($$"""{"mediaType":"x","digest":"{{Layer}}","size":1}""", OciManifest.MaxEntries + 1));
        var body = Encoding.UTF8.GetBytes($$$"""{"schemaVersion":2,"mediaType":"{{{OciMediaTypes.OciManifest}}}","config":{"digest":"{{{Config}}}","size":1},"layers":[{{{layers}}}]}""");

        Assert.Contains("more than", Assert.Throws<OciManifestException>(() => OciManifest.Parse(body, null)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("library/clean/manifests/1.0", "library/clean", "manifests", "1.0")]
    [InlineData("ghcr.io/org/img/blobs/sha256:abc", "ghcr.io/org/img", "blobs", "sha256:abc")]
    [InlineData("org/manifests/manifests/latest", "org/manifests", "manifests", "latest")]
    [InlineData("library/clean/tags/list", "library/clean", "tags", "")]
    public void Registry_paths_split_into_name_kind_and_argument(string path, string name, string kind, string argument)
    {
        Assert.Equal((name, kind, argument), OciEndpoint.Route(path));
    }

    [Theory]
    [InlineData("library/clean")]
    [InlineData("library/clean/manifests/")]
    [InlineData("library/clean/blobs/a/b")]
    [InlineData("manifests/1.0")]
    public void Paths_that_name_no_registry_resource_are_not_routed(string path)
    {
        Assert.Null(OciEndpoint.Route(path));
    }

    [Fact]
    public void A_refusal_reads_Blocked_by_Gatehouse_then_the_rule_then_the_reason_once()
    {
        Assert.Equal("Blocked by Gatehouse: content-dangerous: pickle calls os.system", OciEndpoint.Refusal("content-dangerous", "pickle calls os.system"));
        Assert.Equal("Blocked by Gatehouse: review.blocked: bad image (blocked by ana)", OciEndpoint.Refusal("review.blocked", "Blocked by Gatehouse: bad image (blocked by ana)"));
    }
}
