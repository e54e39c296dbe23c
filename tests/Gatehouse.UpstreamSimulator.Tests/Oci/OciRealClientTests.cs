using System.Diagnostics;
using System.Text.Json;
using Gatehouse.UpstreamSimulator.Oci;

namespace Gatehouse.UpstreamSimulator.Tests.Oci;

/// <summary>
/// skopeo (Debian's, from containers/image) pulls straight from the simulator over plain HTTP (<c>--tls-verify=false</c>):
/// proof that the simulator speaks the protocol real clients speak, token dance and CDN redirect included.
/// </summary>
public sealed class OciRealClientTests
{
    [Fact]
    public async Task Skopeo_inspects_and_copies_the_clean_image_byte_for_byte_and_refuses_the_lying_blob()
    {
        await using var sim = await SimulatorTestHost.StartAsync();
        var registry = sim.BaseAddress.Authority;
        var output = Directory.CreateTempSubdirectory("gatehouse-skopeo-");
        try
        {
            var clean = OciRegistryTests.Image("library/clean:1.0");
            using var inspect = JsonDocument.Parse(await SkopeoAsync("inspect", "--tls-verify=false", $"docker://{registry}/library/clean:1.0"));
            Assert.Equal(clean.Digest, inspect.RootElement.GetProperty("Digest").GetString());
            Assert.Equal(clean.Layers.Select(l => l.Digest), inspect.RootElement.GetProperty("Layers").EnumerateArray().Select(l => l.GetString()));
            Assert.Equal(["1.0", "1.1", "latest"], inspect.RootElement.GetProperty("RepoTags").EnumerateArray().Select(t => t.GetString()));

            await SkopeoAsync("copy", "--tls-verify=false", $"docker://{registry}/library/clean:1.0", $"oci:{output.FullName}:clean");
            var catalog = sim.Oci.Catalog;
            foreach (var digest in clean.Layers.Select(l => l.Digest).Append(clean.ConfigDigest!))
            {
                var copied = await File.ReadAllBytesAsync(Path.Combine(output.FullName, "blobs", "sha256", digest["sha256:".Length..]));
                Assert.Equal(catalog.Blobs[digest].Bytes, copied);
            }
            Assert.All(clean.Layers, l => Assert.Equal(1, sim.Oci.GetStats().BlobGets[l.Digest]));

            var failure = await Assert.ThrowsAsync<InvalidOperationException>(() =>
                SkopeoAsync("copy", "--tls-verify=false", $"docker://{registry}/{OciImages.BadBlobDigest}:1.0", $"oci:{output.FullName}:bad"));
            Assert.Contains("Digest did not match", failure.Message, StringComparison.Ordinal);
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    /// <summary>Runs skopeo and returns its stdout; a non-zero exit throws with its stderr.</summary>
    private static async Task<string> SkopeoAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("skopeo") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("skopeo is not installed: apt-get install skopeo (Debian 12 has 1.9.3).", e);
        }

        using (process)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            return process.ExitCode == 0
                ? await stdout
                : throw new InvalidOperationException($"skopeo {string.Join(' ', arguments)} exited {process.ExitCode}: {await stderr}");
        }
    }
}
