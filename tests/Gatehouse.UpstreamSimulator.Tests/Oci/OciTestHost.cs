using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.UpstreamSimulator.Oci;
using ZstdSharp;

namespace Gatehouse.UpstreamSimulator.Tests.Oci;

/// <summary>A member read back from a layer tar.</summary>
internal sealed record LayerMember(string Name, TarEntryType Type, string LinkName, byte[] Content, int Uid, DateTimeOffset ModificationTime);

/// <summary>A fresh simulator, a client that does not follow redirects, and a pull token for one repository.</summary>
internal sealed class RegistrySession(RunningSimulator simulator, HttpClient client, string token) : IAsyncDisposable
{
    public static async Task<RegistrySession> StartAsync(string repository = OciImages.Clean)
    {
        var simulator = await SimulatorTestHost.StartAsync();
        var client = SimulatorTestHost.ClientFor(simulator);
        return new RegistrySession(simulator, client, await OciTestHost.TokenAsync(client, repository));
    }

    public void Deconstruct(out RunningSimulator sim, out HttpClient http, out string bearer) => (sim, http, bearer) = (simulator, client, token);

    public async ValueTask DisposeAsync()
    {
        client.Dispose();
        await simulator.DisposeAsync();
    }
}

/// <summary>Drives the simulated registry as a client would: the token dance, then authorized requests.</summary>
internal static class OciTestHost
{
    public static async Task<string> TokenAsync(HttpClient client, string repository, string? basic = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/token?service=registry.docker.io&scope=repository:{repository}:pull");
        if (basic is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", basic);
        }
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("token").GetString()!;
    }

    /// <summary>A request with a bearer token and, when given, an Accept header.</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string? token, string? accept = null,
        RangeHeaderValue? range = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }
        request.Headers.Range = range;
        return await client.SendAsync(request);
    }

    /// <summary>A blob's bytes through the registry: the 307 to the CDN path, then the CDN.</summary>
    public static async Task<byte[]> BlobAsync(HttpClient client, string repository, string digest, string token)
    {
        using var redirect = await SendAsync(client, HttpMethod.Get, $"/v2/{repository}/blobs/{digest}", token);
        Assert.Equal(HttpStatusCode.TemporaryRedirect, redirect.StatusCode);
        using var cdn = await client.GetAsync(redirect.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, cdn.StatusCode);
        return await cdn.Content.ReadAsByteArrayAsync();
    }

    /// <summary>The first error's code in the distribution spec's error body.</summary>
    public static async Task<string> ErrorCodeAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = Assert.Single(json.RootElement.GetProperty("errors").EnumerateArray());
        Assert.True(error.TryGetProperty("message", out _));
        return error.GetProperty("code").GetString()!;
    }

    public static string Sha256(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>The uncompressed tar of a layer blob, by its media type.</summary>
    public static byte[] Decompress(byte[] blob, string mediaType)
    {
        if (mediaType.EndsWith("zstd", StringComparison.Ordinal))
        {
            using var decompressor = new Decompressor();
            return decompressor.Unwrap(blob).ToArray();
        }
        if (mediaType.EndsWith("gzip", StringComparison.Ordinal))
        {
            using var gzip = new GZipStream(new MemoryStream(blob), CompressionMode.Decompress);
            using var tar = new MemoryStream();
            gzip.CopyTo(tar);
            return tar.ToArray();
        }
        return blob;
    }

    /// <summary>Every member of a layer, in archive order.</summary>
    public static List<LayerMember> Members(byte[] blob, string mediaType)
    {
        var members = new List<LayerMember>();
        using var reader = new TarReader(new MemoryStream(Decompress(blob, mediaType)));
        while (reader.GetNextEntry() is { } entry)
        {
            using var content = new MemoryStream();
            entry.DataStream?.CopyTo(content);
            members.Add(new LayerMember(entry.Name, entry.EntryType, entry.LinkName, content.ToArray(), entry.Uid, entry.ModificationTime));
        }
        return members;
    }

    /// <summary>The layer blob from the catalog (not through HTTP) for tests about content.</summary>
    public static OciBlob Blob(string digest) => OciCatalog.Empty.With(OciImages.All).Blobs[digest];
}
