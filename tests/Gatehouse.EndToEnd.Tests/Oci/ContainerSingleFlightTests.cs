using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using Gatehouse.Oci;

namespace Gatehouse.EndToEnd.Tests.Oci;

/// <summary>
/// Fifty clients pulling one cold image at once (each its manifest, then every blob, as a registry client does) cause one
/// upstream fetch and one read of each layer. The image is a synthetic one under a tag of its own (another tag is
/// another seed), so no other test or earlier run has cached its layers; the host is the container tests' own.
/// </summary>
[Collection(ContainerPullTests.Collection)]
public sealed class ContainerSingleFlightTests(ContainerPullTests.Fixture fixture, ITestOutputHelper output)
{
    private const int Clients = 50;

    [Fact]
    public async Task Fifty_concurrent_cold_pulls_of_one_image_fetch_each_layer_once_and_read_it_once()
    {
        var stack = fixture.Stack;
        await stack.RunAsync(output, async () =>
        {
            var image = await ContainerClients.SyntheticAsync(stack.Simulator.BaseAddress, "synthetic/layers3x2m", "flight-" + TestEnvironment.UniqueSuffix());
            using var client = stack.CreateClient(authenticated: false);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("flight:" + fixture.OciToken)));
            client.DefaultRequestHeaders.Accept.ParseAdd(string.Join(", ", OciMediaTypes.Manifests));

            using var go = new SemaphoreSlim(0, Clients);
            var pulls = Enumerable.Range(0, Clients).Select(async _ =>
            {
                await go.WaitAsync();
                return await PullAsync(client, image);
            }).ToArray();
            go.Release(Clients);
            var answers = await Task.WhenAll(pulls);
            foreach (var group in answers.GroupBy(a => a))
            {
                output.WriteLine($"{group.Count()} x {group.Key}");
            }

            var fetches = await ContainerClients.BlobFetchesAsync(stack.Simulator.BaseAddress);
            Assert.All(answers, a => Assert.Equal("ok", a));
            Assert.NotEmpty(image.Layers);
            foreach (var (digest, _) in image.Layers)
            {
                Assert.Equal(1, fetches.GetValueOrDefault(digest));
                Assert.Equal(1, stack.CountLogLines($"Layer {digest["sha256:".Length..]} of "));
            }
            Assert.Equal(1, stack.CountLogLines($"Scan started for {image.Digest["sha256:".Length..]}"));
        });
    }

    /// <summary>The manifest, then each blob, each checked against its digest; "ok" or what went wrong.</summary>
    private static async Task<string> PullAsync(HttpClient client, SimulatedImage image)
    {
        var manifest = await client.GetAsync($"v2/{image.Name}/manifests/{image.Tag}");
        if (manifest.StatusCode != HttpStatusCode.OK)
        {
            return $"manifest {(int)manifest.StatusCode}: {await manifest.Content.ReadAsStringAsync()}";
        }
        var body = await manifest.Content.ReadAsByteArrayAsync();
        if (OciManifest.DigestOf(body) != image.Digest)
        {
            return "manifest digest differs";
        }
        using var document = JsonDocument.Parse(body);
        var blobs = document.RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()!)
            .Prepend(document.RootElement.GetProperty("config").GetProperty("digest").GetString()!);
        foreach (var digest in blobs)
        {
            var blob = await client.GetAsync($"v2/{image.Name}/blobs/{digest}");
            if (blob.StatusCode != HttpStatusCode.OK)
            {
                return $"blob {(int)blob.StatusCode}";
            }
            if ("sha256:" + Convert.ToHexStringLower(SHA256.HashData(await blob.Content.ReadAsByteArrayAsync())) != digest)
            {
                return "blob digest differs";
            }
        }
        return "ok";
    }
}
