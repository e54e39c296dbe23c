using System.Net;
using System.Text.Json;
using Gatehouse.UpstreamSimulator.Oci;
using static Gatehouse.UpstreamSimulator.Tests.Oci.OciTestHost;

namespace Gatehouse.UpstreamSimulator.Tests.Oci;

/// <summary>Synthetic big images: made on first request into the data folder, streamed from disk, the same on every run.</summary>
public sealed class OciSyntheticTests
{
    [Fact]
    public async Task A_synthetic_image_is_made_on_its_first_manifest_request_and_its_layers_match_their_digests()
    {
        var data = Directory.CreateTempSubdirectory("gatehouse-oci-synthetic-");
        try
        {
            OciImageInfo first;
            await using (var sim = await SimulatorTestHost.StartAsync(data.FullName))
            {
                using var client = SimulatorTestHost.ClientFor(sim);
                var token = await TokenAsync(client, "synthetic/layers2x300k");
                using var manifest = await SendAsync(client, HttpMethod.Get, "/v2/synthetic/layers2x300k/manifests/1.0", token);
                Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);

                first = sim.Oci.Catalog.Images.Single(i => i.Reference == "synthetic/layers2x300k:1.0");
                Assert.Equal(2, first.Layers.Count);
                Assert.Equal(Sha256(await manifest.Content.ReadAsByteArrayAsync()), first.Digest);
                foreach (var layer in first.Layers)
                {
                    var bytes = await BlobAsync(client, "synthetic/layers2x300k", layer.Digest, token);
                    Assert.Equal(layer.Digest, Sha256(bytes));
                    Assert.Equal(layer.DiffId, Sha256(Decompress(bytes, layer.MediaType)));
                    var member = Assert.Single(Members(bytes, layer.MediaType));
                    Assert.Equal(300_000, member.Content.Length);
                    Assert.InRange(layer.Size, 300_000, 300_000 + 2_048);
                }
                Assert.NotEqual(first.Layers[0].Digest, first.Layers[1].Digest);
                Assert.Equal(2, Directory.GetFiles(data.FullName, "layer-*.tar.gz", SearchOption.AllDirectories).Length);
            }

            // A second run over the same data folder reads the layers back; a fresh folder makes the same bytes again.
            var written = Directory.GetFiles(data.FullName, "layer-*.tar.gz", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);
            await using (var again = await SimulatorTestHost.StartAsync(data.FullName))
            {
                using var client = SimulatorTestHost.ClientFor(again);
                using var made = await client.PostAsync("/_sim/oci/synthetic?name=synthetic/layers2x300k&tag=1.0", null);
                var info = JsonSerializer.Deserialize<OciImageInfo>(await made.Content.ReadAsStringAsync())!;
                Assert.Equal(first.Digest, info.Digest);
                Assert.All(written, f => Assert.Equal(f.Value, File.GetLastWriteTimeUtc(f.Key)));
            }
            await using (var fresh = await SimulatorTestHost.StartAsync())
            {
                using var client = SimulatorTestHost.ClientFor(fresh);
                using var made = await client.PostAsync("/_sim/oci/synthetic?name=synthetic/layers2x300k&tag=1.0", null);
                Assert.Equal(first.Digest, JsonSerializer.Deserialize<OciImageInfo>(await made.Content.ReadAsStringAsync())!.Digest);
                using var otherTag = await client.PostAsync("/_sim/oci/synthetic?name=synthetic/layers2x300k&tag=2.0", null);
                Assert.NotEqual(first.Digest, JsonSerializer.Deserialize<OciImageInfo>(await otherTag.Content.ReadAsStringAsync())!.Digest);
            }
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("synthetic/layer5t")]
    [InlineData("synthetic/layers0x1m")]
    [InlineData("synthetic/layers65x1m")]
    [InlineData("synthetic/layer5000m")]
    [InlineData("library/clean")]
    public async Task A_name_that_is_not_a_synthetic_image_is_refused(string name)
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        using var client = SimulatorTestHost.ClientFor(sim);

        using var response = await client.PostAsync($"/_sim/oci/synthetic?name={name}&tag=1.0", null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("synthetic/layers5x100m", "1.0", 5, 100_000_000L)]
    [InlineData("synthetic/layer1g", "1.0", 1, 1_000_000_000L)]
    public void The_benchmark_names_parse_to_their_sizes(string name, string tag, int layers, long bytes)
    {
        var spec = OciSyntheticImages.Parse(name, tag);

        Assert.Equal(new OciSyntheticSpec(name, tag, layers, bytes), spec);
        Assert.Null(OciSyntheticImages.Parse(name, "sha256:" + new string('0', 64)));
    }
}
