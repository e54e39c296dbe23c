using System.Net;
using System.Text;
using Gatehouse.Cli.Bom;

namespace Gatehouse.Cli.Tests;

/// <summary><c>gatehouse bom</c> against a stub Gatehouse: the request it sends with the admin token, and what it writes.</summary>
public sealed class BomCommandTests
{
    private const string Bom = """{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"data","name":"a"},{"type":"data","name":"b"}],"vulnerabilities":[{"id":"X"}]}""";

    [Fact]
    public async Task The_bom_of_a_dataset_is_asked_for_at_its_admin_path_with_the_token_and_written_to_the_file()
    {
        var stub = new StubGatehouse(HttpStatusCode.OK, Bom);
        using var http = Client(stub);
        var file = new FileInfo(Path.Combine(Path.GetTempPath(), $"bom-{Guid.NewGuid():N}.json"));
        var output = new StringWriter();
        var error = new StringWriter();
        try
        {
            var exit = await BomCommand.ExportAsync(http, "hf", "datasets/acme/reviews v2", file, output, error, CancellationToken.None);

            Assert.Equal(0, exit);
            Assert.Equal("http://gatehouse.test/admin/bom/hf/datasets/acme/reviews%20v2", stub.Requests.Single().RequestUri!.AbsoluteUri);
            Assert.Equal("Bearer admin-secret", stub.Requests.Single().Headers.Authorization?.ToString());
            Assert.Equal(Bom, await File.ReadAllTextAsync(file.FullName));
            Assert.Equal("", output.ToString());
            Assert.Contains("2 files, 1 advisories", error.ToString());
        }
        finally
        {
            file.Delete();
        }
    }

    [Fact]
    public async Task Without_a_file_the_bom_goes_to_standard_output()
    {
        using var http = Client(new StubGatehouse(HttpStatusCode.OK, Bom));
        var output = new StringWriter();

        Assert.Equal(0, await BomCommand.ExportAsync(http, "pypi", "gh-dep", null, output, new StringWriter(), CancellationToken.None));
        Assert.Equal(Bom, output.ToString());
    }

    [Fact]
    public async Task A_refusal_exits_2_with_gatehouse_s_answer()
    {
        using var http = Client(new StubGatehouse(HttpStatusCode.NotFound, "Gatehouse has recorded no file of pypi gh-none"));
        var output = new StringWriter();
        var error = new StringWriter();

        Assert.Equal(2, await BomCommand.ExportAsync(http, "pypi", "gh-none", null, output, error, CancellationToken.None));
        Assert.Contains("404", error.ToString());
        Assert.Contains("recorded no file of pypi gh-none", error.ToString());
        Assert.Equal("", output.ToString());
    }

    [Fact]
    public async Task Another_remote_is_refused_by_the_command_line()
    {
        var exit = await GatehouseCommand.Build().Parse(["bom", "npm", "left-pad", "--url", "http://127.0.0.1:1", "--admin-token", "x"]).InvokeAsync();

        Assert.NotEqual(0, exit);
    }

    private static HttpClient Client(StubGatehouse stub)
    {
        var http = new HttpClient(stub) { BaseAddress = new Uri("http://gatehouse.test/") };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "admin-secret");
        return http;
    }

    private sealed class StubGatehouse(HttpStatusCode status, string body) : HttpMessageHandler
    {
        public List<HttpRequestMessage> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request);
            return Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
        }
    }
}
