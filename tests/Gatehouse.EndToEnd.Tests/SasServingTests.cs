using System.Net;
using System.Security.Cryptography;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>Serving mode "Sas" (the Azure default): an allowed file is a 302 to a short-lived read-only SAS URL of its blob.</summary>
public sealed class SasServingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task In_sas_mode_an_allowed_file_redirects_to_a_read_only_blob_url_with_the_same_bytes()
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
        });
    }
}
