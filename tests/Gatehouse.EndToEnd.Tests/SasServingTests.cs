using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using Gatehouse.EndToEnd.Tests.Oci;
using Gatehouse.Tokens;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// Serving mode "Sas" (the Azure default): an allowed file or image layer is a 302 to a short-lived read-only SAS URL of
/// its blob, which pip and skopeo follow.
/// </summary>
public sealed class SasServingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task In_sas_mode_an_allowed_file_and_an_image_layer_redirect_to_a_read_only_blob_url_with_the_same_bytes()
    {
        await using var stack = await GatehouseStack.StartAsync("sas", s => s with { ServingMode = "Sas" });
        await stack.RunAsync(output, async () =>
        {
            var project = $"gh-sas-{TestEnvironment.UniqueSuffix()}";
            var file = await stack.Sim.SyntheticAsync(project, "1.0.0", 256 * 1024);
            using var client = stack.CreateClient();
            using var first = await client.GetAsync(GatehouseStack.FileUrl(project, file.Sha256, file.Filename));
            Assert.Equal(HttpStatusCode.Found, first.StatusCode);
            var location = first.Headers.Location!;
            Assert.Contains("sig=", location.Query);
            Assert.Contains("sp=r", location.Query);
            Assert.EndsWith("/artifacts/" + file.Sha256, location.AbsolutePath);

            using var blob = new HttpClient();
            var bytes = await blob.GetByteArrayAsync(location);
            Assert.Equal(file.Sha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));

            // The SAS grants reading only.
            using var put = await blob.PutAsync(location, new ByteArrayContent([1, 2, 3]));
            Assert.False(put.IsSuccessStatusCode, $"a write through the SAS URL answered {(int)put.StatusCode}");

            // An image: skopeo follows each layer's redirect to Azurite, and every layer arrives byte for byte.
            var image = (await ContainerClients.ImagesAsync(stack.Simulator.BaseAddress)).First(i => i.Name == "library/clean");
            using var clients = new ContainerClients(stack.BaseAddress,
                await GatehouseStack.CreateTokenAsync(TestEnvironment.StorageConnectionString, "sas-oci", TokenScope.OciRead));
            var layout = clients.Folder("layout");
            var copy = await clients.SkopeoAsync("copy", "--src-tls-verify=false", $"docker://{clients.Registry}/library/clean:1.0", $"oci:{layout}:clean");
            output.WriteLine(copy.ToString());
            Assert.True(copy.ExitCode == 0, copy.ToString());
            foreach (var (digest, size) in image.Layers)
            {
                var layer = await File.ReadAllBytesAsync(Path.Combine(layout, "blobs", "sha256", digest["sha256:".Length..]));
                Assert.Equal(size, layer.LongLength);
                Assert.Equal(digest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(layer)));
            }
            using var oci = stack.CreateClient(authenticated: false);
            oci.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("any:" + clients.Token)));
            using var redirect = await oci.GetAsync($"v2/library/clean/blobs/{image.Layers[0].Digest}");
            Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
            Assert.EndsWith("/artifacts/" + image.Layers[0].Digest["sha256:".Length..], redirect.Headers.Location!.AbsolutePath);
        });
    }
}
