using System.IO.Compression;
using System.Text.Json.Nodes;
using Gatehouse.Cli.Tests.Fakes;

namespace Gatehouse.Cli.Tests;

/// <summary>
/// Publishing the Functions app after the deployment: the site's SCM host, One Deploy of the zip to
/// <c>/api/publish</c> (retried while the app cannot yet write to its deployment storage), and the Kudu status poll.
/// A small stand-in publish folder replaces <c>dotnet publish</c> so the test stays fast.
/// </summary>
public sealed class CodePublishTests(ITestOutputHelper log) : IAsyncLifetime
{
    private FakeAzure _azure = null!;
    private readonly FakeCredential _credential = new();

    private const string App = "func-abc";

    public async Task InitializeAsync()
    {
        _azure = await FakeAzure.StartAsync();
        _azure.On("GET", Arm.GroupPath, FakeResponse.Ok(Arm.ResourceGroupBody("westeurope")));
        _azure.On("PUT", Arm.DeploymentPath, FakeResponse.Ok(Arm.DeploymentBody("Succeeded")));
        _azure.On("GET", Arm.OperationsPath, FakeResponse.Ok(Arm.Operations()));
        _azure.On("GET", Arm.DeploymentPath, FakeResponse.Ok(Arm.DeploymentBody("Succeeded",
            Arm.Outputs(("AZURE_FUNCTION_APP_NAME", App), ("AZURE_FUNCTION_APP_URL", $"https://{App}.azurewebsites.net")))));
        _azure.On("GET", Arm.SitePath(App), FakeResponse.Ok(new JsonObject
        {
            ["name"] = App,
            ["kind"] = "functionapp,linux",
            ["properties"] = new JsonObject
            {
                ["functionAppConfig"] = new JsonObject { ["runtime"] = new JsonObject { ["name"] = "dotnet-isolated", ["version"] = "10.0" } },
                ["hostNameSslStates"] = new JsonArray(
                    new JsonObject { ["name"] = $"{App}.azurewebsites.net", ["hostType"] = "Standard" },
                    new JsonObject { ["name"] = _azure.Host, ["hostType"] = "Repository" }),
            },
        }));
    }

    public async Task DisposeAsync() => await _azure.DisposeAsync();

    private Task<CliResult> DeployAsync() => DeployCli.RunAsync(_azure, _credential, log,
        ["--subscription", Arm.Subscription, "--resource-group", Arm.ResourceGroup, "--name", Arm.Deployment,
         "--parameters", DeployCli.Fixture("main.bicepparam"), "--package", DeployCli.Fixture("package")]);

    [Fact]
    public async Task The_zip_goes_to_the_flex_apps_one_deploy_endpoint_with_the_arm_token_and_is_followed_to_success()
    {
        _azure.On("POST", "/api/publish",
            FakeResponse.With(400, null) with { Text = "BlobUploadFailedException: Failed to upload blob to storage account: Response status code does not indicate success: 403 (This request is not authorized to perform this operation using this permission.)." },
            FakeResponse.With(202, JsonValue.Create("7c3e9a1b-dep")));
        _azure.On("GET", "/api/deployments/7c3e9a1b-dep",
            FakeResponse.Ok(new JsonObject { ["id"] = "7c3e9a1b-dep", ["status"] = 1, ["status_text"] = "Building and Deploying", ["complete"] = false }),
            FakeResponse.Ok(new JsonObject { ["id"] = "7c3e9a1b-dep", ["status"] = 4, ["status_text"] = "", ["complete"] = true }));

        var result = await DeployAsync();

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("2024-04-01", _azure.To("GET", Arm.SitePath(App)).Single().ApiVersion);
        var uploads = _azure.To("POST", "/api/publish");
        Assert.Equal(2, uploads.Count); // the first was refused while storage access propagated
        var upload = uploads[1];
        Assert.Equal("?RemoteBuild=false&Deployer=gatehouse", upload.Query);
        Assert.Equal("application/zip", upload.Header("Content-Type"));
        Assert.Equal($"Bearer {FakeCredential.Token}", upload.Header("Authorization"));
        Assert.Equal(uploads[0].Body, upload.Body);

        using var zip = new ZipArchive(new MemoryStream(upload.Body), ZipArchiveMode.Read);
        var folder = DeployCli.Fixture("package");
        var expected = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/')).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, zip.Entries.Select(e => e.FullName).ToList());
        Assert.Contains("host.json", expected);
        Assert.Contains(".azurefunctions/function.deps.json", expected);
        foreach (var entry in zip.Entries)
        {
            using var content = new StreamReader(entry.Open());
            Assert.Equal(await File.ReadAllTextAsync(Path.Combine(folder, entry.FullName)), await content.ReadToEndAsync());
            // Unix file type and permissions in the high 16 bits: Flex mounts the package as a Linux file system.
            var mode = (entry.ExternalAttributes >> 16) & 0xFFFF;
            Assert.Equal(entry.FullName == "Gatehouse.Functions" ? 0x81ED : 0x81A4, mode); // 0100755 : 0100644
        }

        Assert.Equal(2, _azure.To("GET", "/api/deployments/7c3e9a1b-dep").Count);
        Assert.Contains("code deployment 7c3e9a1b-dep: building (Building and Deploying)\n", result.Output);
        Assert.Contains("code deployment 7c3e9a1b-dep: succeeded\n", result.Output);
        Assert.Contains($"Code published to {App}\n", result.Output);
        Assert.Contains($"AZURE_FUNCTION_APP_NAME={App}\n", result.Output);
        Assert.All(_azure.Requests, r => Assert.Equal($"Bearer {FakeCredential.Token}", r.Header("Authorization")));
    }

    [Fact]
    public async Task A_failed_code_deployment_exits_1_with_kudus_status_and_log_url()
    {
        _azure.On("POST", "/api/publish", FakeResponse.With(202, JsonValue.Create("dep-2")));
        _azure.On("GET", "/api/deployments/dep-2", FakeResponse.Ok(new JsonObject
        {
            ["id"] = "dep-2",
            ["status"] = 3,
            ["status_text"] = "Deployment failed: the package has no host.json",
            ["complete"] = true,
            ["log_url"] = $"https://{_azure.Host}/api/deployments/dep-2/log",
        }));

        var result = await DeployAsync();

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("code deployment dep-2: failed (Deployment failed: the package has no host.json)\n", result.Output);
        Assert.Contains($"The code deployment dep-2 failed; log: https://{_azure.Host}/api/deployments/dep-2/log", result.Error);
        Assert.DoesNotContain("Outputs:", result.Output);
    }
}
