using System.Net;
using Gatehouse.Configuration;
using Gatehouse.HuggingFace;
using Microsoft.Extensions.Options;

namespace Gatehouse.Core.Tests.HuggingFace;

public sealed class HuggingFaceUpstreamTests
{
    private static HuggingFaceUpstream Upstream(RecordingHub recorder) =>
        new(recorder.Client, Options.Create(new GatehouseOptions
        {
            HuggingFace = new HuggingFaceOptions { Endpoint = "https://huggingface.co", UpstreamToken = "hf_service", FileHosts = "*.huggingface.co,*.hf.co" },
        }));

    private static HttpResponseMessage Redirect(string location) => new(HttpStatusCode.Found) { Headers = { Location = new Uri(location) } };

    [Fact]
    public async Task An_unresolved_key_vault_reference_is_never_sent_as_the_upstream_token()
    {
        var recorder = new RecordingHub(_ => new HttpResponseMessage(HttpStatusCode.OK));
        var upstream = new HuggingFaceUpstream(recorder.Client, Options.Create(new GatehouseOptions
        {
            HuggingFace = new HuggingFaceOptions { Endpoint = "https://huggingface.co", UpstreamToken = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/hf-token/)" },
        }));

        using var response = await upstream.SendApiAsync(HttpMethod.Get, "api/models/org/m", null, null, CancellationToken.None);

        Assert.Null(Assert.Single(recorder.Seen).Authorization);
    }

    [Fact]
    public async Task An_LFS_redirect_to_a_configured_CDN_host_is_followed_without_the_upstream_token()
    {
        var recorder = new RecordingHub(r => r.RequestUri!.Host == "huggingface.co"
            ? Redirect("https://cdn-lfs.huggingface.co/repos/ab/cd/sha?X-Amz-Signature=1")
            : new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent([1, 2, 3]) });

        using var response = await Upstream(recorder).OpenFileAsync(new Uri("https://huggingface.co/org/model/resolve/abc/model.safetensors"), 3, CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, recorder.Seen.Count);
        Assert.Equal("Bearer hf_service", recorder.Seen[0].Authorization);
        Assert.Equal("cdn-lfs.huggingface.co", recorder.Seen[1].Url.Host);
        Assert.Null(recorder.Seen[1].Authorization);
    }

    [Theory]
    [InlineData("https://evil.example/x")]
    [InlineData("https://evilhuggingface.co/x")]
    [InlineData("http://cdn-lfs.huggingface.co/x")]
    public async Task A_redirect_anywhere_else_is_never_contacted(string location)
    {
        var recorder = new RecordingHub(_ => Redirect(location));

        using var response = await Upstream(recorder).OpenFileAsync(new Uri("https://huggingface.co/org/model/resolve/abc/model.bin"), 10, CancellationToken.None);

        Assert.Equal(Gatehouse.Upstream.UpstreamFailureKind.NotAllowed, response.Failure?.Kind);
        Assert.Single(recorder.Seen);
    }
}
