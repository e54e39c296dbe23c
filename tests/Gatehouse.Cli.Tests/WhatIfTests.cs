using System.Text.Json.Nodes;
using Gatehouse.Cli.Tests.Fakes;

namespace Gatehouse.Cli.Tests;

/// <summary><c>--what-if</c>: the POST, its Location polling, the printed change list, and that nothing is deployed.</summary>
public sealed class WhatIfTests(ITestOutputHelper log) : IAsyncLifetime
{
    private FakeAzure _azure = null!;
    private readonly FakeCredential _credential = new();

    private const string WhatIfPath = $"{Arm.DeploymentPath}/whatIf";
    private const string ResultPath = $"/subscriptions/{Arm.Subscription}/providers/Microsoft.Resources/locations/westeurope/operationResults/eyJqb2JJZCI6IldIQVRJRiJ9";

    public async Task InitializeAsync() => _azure = await FakeAzure.StartAsync();

    public async Task DisposeAsync() => await _azure.DisposeAsync();

    private Task<CliResult> WhatIfAsync() => DeployCli.RunAsync(_azure, _credential, log,
        ["--subscription", Arm.Subscription, "--resource-group", Arm.ResourceGroup, "--name", Arm.Deployment,
         "--parameters", DeployCli.Fixture("main.bicepparam"), "--what-if"]);

    [Fact]
    public async Task What_if_posts_the_deployment_polls_its_location_and_prints_each_change_without_deploying()
    {
        _azure.On("GET", Arm.GroupPath, FakeResponse.Ok(Arm.ResourceGroupBody("westeurope")));
        _azure.On("POST", WhatIfPath, FakeResponse.With(202, null, ("Location", _azure.Url($"{ResultPath}?api-version=2025-04-01")), ("Retry-After", "0")));
        var changes = new JsonArray(
            Change("Create", "Microsoft.Storage/storageAccounts", "stabc"),
            Change("Modify", "Microsoft.Web/sites", "func-abc", new JsonObject
            {
                ["path"] = "properties.siteConfig.alwaysOn",
                ["propertyChangeType"] = "Modify",
                ["before"] = true,
                ["after"] = false,
            }),
            Change("Delete", "Microsoft.Insights/components", "appi-old"),
            Change("Ignore", "Microsoft.KeyVault/vaults", "kv-abc"),
            Change("NoChange", "Microsoft.ManagedIdentity/userAssignedIdentities", "id-abc"));
        _azure.On("GET", ResultPath,
            FakeResponse.With(202, null, ("Location", _azure.Url($"{ResultPath}?api-version=2025-04-01")), ("Retry-After", "0")),
            FakeResponse.Ok(new JsonObject { ["status"] = "Succeeded", ["properties"] = new JsonObject { ["changes"] = changes } }));

        var result = await WhatIfAsync();

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal([$"GET {Arm.GroupPath}", $"POST {WhatIfPath}", $"GET {ResultPath}", $"GET {ResultPath}"],
            _azure.Requests.Select(r => $"{r.Method} {r.Path}"));
        var post = _azure.To("POST", WhatIfPath).Single();
        Assert.Equal("2025-04-01", post.ApiVersion);
        Assert.Equal($"Bearer {FakeCredential.Token}", post.Header("Authorization"));
        var properties = post.Json!["properties"]!.AsObject();
        Assert.Equal(["mode", "template", "parameters", "whatIfSettings"], properties.Select(p => p.Key));
        Assert.Equal("Incremental", properties["mode"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(await Bicep.BuildAsync(DeployCli.Fixture("main.bicep")), properties["template"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"environmentName":{"value":"test"}}"""), properties["parameters"]));
        Assert.Equal("FullResourcePayloads", properties["whatIfSettings"]!["resultFormat"]!.GetValue<string>());

        Assert.Contains("  + Create      Microsoft.Storage/storageAccounts/stabc\n", result.Output);
        Assert.Contains("  - Delete      Microsoft.Insights/components/appi-old\n", result.Output);
        Assert.Contains("  ~ Modify      Microsoft.Web/sites/func-abc\n      ~ properties.siteConfig.alwaysOn: true => false\n", result.Output);
        Assert.Contains("  * Ignore      Microsoft.KeyVault/vaults/kv-abc\n", result.Output);
        Assert.Contains("  = NoChange    Microsoft.ManagedIdentity/userAssignedIdentities/id-abc\n", result.Output);
        Assert.Contains("Changes: 1 to create, 1 to delete, 1 to modify, 1 ignored, 1 unchanged.\n", result.Output);
        Assert.Equal("", result.Error);
    }

    [Fact]
    public async Task A_failed_what_if_prints_its_error_and_exits_1()
    {
        _azure.On("GET", Arm.GroupPath, FakeResponse.Ok(Arm.ResourceGroupBody("westeurope")));
        _azure.On("POST", WhatIfPath, FakeResponse.Ok(new JsonObject
        {
            ["status"] = "Failed",
            ["error"] = Arm.Inner("InvalidTemplate", "Deployment template validation failed: 'The resource 'Microsoft.Web/sites/func-abc' is not defined in the template.'."),
        }));

        var result = await WhatIfAsync();

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"What-if {Arm.Deployment} failed:\n  InvalidTemplate: Deployment template validation failed:", result.Error);
        Assert.DoesNotContain(_azure.Requests, r => r.Method == "PUT");
    }

    [Fact]
    public async Task The_repositorys_own_infra_compiles_and_goes_to_what_if_with_the_outputs_deploy_reads()
    {
        var infra = Path.GetFullPath(Path.Combine(DeployCli.Fixtures, "..", "..", "..", "infra"));
        _azure.On("GET", Arm.GroupPath, FakeResponse.Ok(Arm.ResourceGroupBody("westeurope")));
        _azure.On("POST", WhatIfPath, FakeResponse.Ok(new JsonObject { ["status"] = "Succeeded", ["properties"] = new JsonObject { ["changes"] = new JsonArray() } }));

        var result = await DeployCli.RunAsync(_azure, _credential, log,
            ["--subscription", Arm.Subscription, "--resource-group", Arm.ResourceGroup, "--name", Arm.Deployment,
             "--template", Path.Combine(infra, "main.bicep"), "--parameters", Path.Combine(infra, "main.bicepparam"), "--environment", "ci", "--what-if"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var properties = _azure.To("POST", WhatIfPath).Single().Json!["properties"]!;
        Assert.True(JsonNode.DeepEquals(await Bicep.BuildAsync(Path.Combine(infra, "main.bicep")), properties["template"]));
        Assert.Equal("ci", properties["parameters"]!["environmentName"]!["value"]!.GetValue<string>());
        var outputs = properties["template"]!["outputs"]!.AsObject().Select(o => o.Key).ToList();
        Assert.Contains("AZURE_FUNCTION_APP_NAME", outputs);
        Assert.Contains("AZURE_DEPLOYMENT_CONTAINER_URL", outputs);
    }

    private static JsonObject Change(string changeType, string type, string name, params JsonObject[] delta)
    {
        var change = new JsonObject { ["resourceId"] = Arm.ResourceId(type, name), ["changeType"] = changeType };
        if (delta.Length > 0)
        {
            change["delta"] = new JsonArray(delta.Select(d => (JsonNode)d).ToArray());
        }
        return change;
    }
}
