using System.Text.Json.Nodes;

namespace Gatehouse.Infra.Tests;

/// <summary>What others rely on: the parameters and outputs `gatehouse deploy` and azd use, naming, parameter files, linting.</summary>
[Collection(InfraCollection.Name)]
public sealed class TemplateContractTests(InfraWorkspace infra)
{
    private static readonly string[] ContractOutputs =
    [
        "AZURE_FUNCTION_APP_NAME", "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_DEPLOYMENT_CONTAINER_URL", "AZURE_FUNCTION_APP_URL",
        "AZURE_KEY_VAULT_NAME", "AZURE_EVENTGRID_SYSTEM_TOPIC_NAME", "AZURE_VERDICT_TOPIC_ENDPOINT",
    ];

    [Fact]
    public void Main_template_deploys_to_a_resource_group_and_needs_only_an_environment_name()
    {
        var template = infra.MainTemplate;
        var parameters = template["parameters"]!.AsObject();

        Assert.Equal("https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", template.Str("$schema"));
        Assert.Equal("string", parameters["environmentName"]!.Str("type"));
        Assert.Null(parameters["environmentName"]!["defaultValue"]);
        Assert.Equal("[resourceGroup().location]", parameters["location"]!.Str("defaultValue"));
        var required = parameters.Where(p => p.Value!["defaultValue"] is null).Select(p => p.Key);
        Assert.Equal(["environmentName"], required);
    }

    [Fact]
    public void Outputs_keep_the_names_gatehouse_deploy_and_azd_rely_on()
    {
        var outputs = infra.MainTemplate["outputs"]!.AsObject();
        foreach (var name in ContractOutputs)
        {
            Assert.True(outputs.ContainsKey(name), $"main.bicep lost the output {name}");
            Assert.Equal("string", outputs[name]!.Str("type"));
        }

        var deployment = new Deployment(infra.Default);
        var snapshot = deployment.Snapshot;
        Assert.Equal((string?)deployment.Site["name"], snapshot.Output("AZURE_FUNCTION_APP_NAME"));
        Assert.Equal((string?)deployment.Storage["name"], snapshot.Output("AZURE_STORAGE_ACCOUNT_NAME"));
        Assert.Equal((string?)deployment.Vault["name"], snapshot.Output("AZURE_KEY_VAULT_NAME"));
        Assert.Equal((string?)deployment.SystemTopic["name"], snapshot.Output("AZURE_EVENTGRID_SYSTEM_TOPIC_NAME"));
        Assert.Equal($"[format('https://{{0}}', {Deployment.ReferenceTo(deployment.Site, "defaultHostName")})]", snapshot.Output("AZURE_FUNCTION_APP_URL"));
        Assert.Equal(deployment.Site.Str("properties.functionAppConfig.deployment.storage.value"), snapshot.Output("AZURE_DEPLOYMENT_CONTAINER_URL"));
        Assert.Contains(deployment.DeploymentContainerName, deployment.StorageChildren("blobServices/containers"));
        // Outputs are stored in the deployment history and in azd's .env: none may hold a secret.
        Assert.All(snapshot.Outputs, o => Assert.DoesNotMatch(@"(?i)\blist[a-z]*\(|AccountKey|sig=", o.Value!.ToJsonString()));
    }

    [Theory]
    [InlineData("default", "gatehouse-dev")]
    [InlineData("production", "gatehouse-prod")]
    public void Names_are_abbreviation_plus_one_resource_token_and_every_resource_is_tagged_with_its_environment(string profile, string environmentName)
    {
        var deployment = new Deployment(infra.Profile(profile));
        var abbreviations = JsonNode.Parse(File.ReadAllText(Path.Combine(infra.InfraDirectory, "abbreviations.json")))!.AsObject()
            .ToDictionary(p => p.Key, p => (string)p.Value!);
        var token = ((string)deployment.Storage["name"]!)[abbreviations["storageStorageAccounts"].Length..];

        Assert.Matches("^[a-z0-9]{13}$", token);
        Assert.Equal(abbreviations["managedIdentityUserAssignedIdentities"] + token, (string?)deployment.Identity["name"]);
        Assert.Equal(abbreviations["webServerFarms"] + token, (string?)deployment.Plan["name"]);
        Assert.Equal(abbreviations["webSitesFunctions"] + token, (string?)deployment.Site["name"]);
        Assert.Equal(abbreviations["keyVaultVaults"] + token, (string?)deployment.Vault["name"]);
        Assert.Equal(abbreviations["insightsComponents"] + token, (string?)deployment.Component["name"]);
        Assert.Equal(abbreviations["operationalInsightsWorkspaces"] + token, (string?)deployment.Workspace["name"]);
        Assert.Equal(abbreviations["eventGridSystemTopics"] + token, (string?)deployment.SystemTopic["name"]);
        Assert.Equal(abbreviations["eventGridTopics"] + "verdicts-" + token, (string?)deployment.VerdictTopic["name"]);
        Assert.InRange(((string)deployment.Storage["name"]!).Length, 3, 24);
        Assert.InRange(((string)deployment.Vault["name"]!).Length, 3, 24);

        var tagged = deployment.Snapshot.Resources.Where(r => r["location"] is not null).ToList();
        Assert.NotEmpty(tagged);
        Assert.All(tagged, r => Assert.Equal(environmentName, r.Str("tags.azd-env-name")));
        Assert.All(tagged, r => Assert.Equal(InfraWorkspace.Location, r.Str("location")));
        // azd finds the code's deployment target by this tag (azure.yaml: service "gatehouse").
        Assert.Equal("gatehouse", deployment.Site.Str("tags.azd-service-name"));
    }

    [Fact]
    public void Default_and_production_profiles_are_different_environments()
    {
        Assert.NotEqual((string?)new Deployment(infra.Default).Storage["name"], (string?)new Deployment(infra.Production).Storage["name"]);
    }

    [Theory]
    [InlineData("main.bicepparam", "gatehouse-dev")]
    [InlineData("main.prod.bicepparam", "gatehouse-prod")]
    [InlineData("eventgrid.bicepparam", null)]
    public async Task Each_parameter_file_builds(string file, string? environmentName)
    {
        var result = (await infra.RunAsync(InfraWorkspace.PhaseTwoEnvironment, "build-params", file, "--stdout")).EnsureClean();
        var output = JsonNode.Parse(result.StandardOutput)!;
        var parameters = JsonNode.Parse((string)output["parametersJson"]!)!["parameters"]!.AsObject();

        Assert.NotEmpty(parameters);
        Assert.NotNull(JsonNode.Parse((string)output["templateJson"]!)!["resources"]);
        if (environmentName is not null)
        {
            Assert.Equal(environmentName, parameters["environmentName"]!.Str("value"));
        }
        else
        {
            Assert.Equal(InfraWorkspace.PhaseTwoEnvironment["AZURE_FUNCTION_APP_NAME"], parameters["functionAppName"]!.Str("value"));
        }
    }

    [Fact]
    public async Task Azd_environment_name_flows_into_every_name()
    {
        var result = (await infra.RunAsync(new Dictionary<string, string> { ["AZURE_ENV_NAME"] = "team-a" }, "build-params", "main.bicepparam", "--stdout")).EnsureClean();
        var parameters = JsonNode.Parse((string)JsonNode.Parse(result.StandardOutput)!["parametersJson"]!)!["parameters"]!;

        Assert.Equal("team-a", parameters.Str("environmentName.value"));
    }

    [Fact]
    public void Every_template_lints_and_builds_without_a_single_diagnostic()
    {
        // The fixture built main.bicep and eventgrid.bicep with EnsureClean; the modules are compiled into main.
        Assert.Equal(7, infra.MainTemplate["resources"]!.AsArray().Count(r => r!.Str("type") == "Microsoft.Resources/deployments"));
        Assert.NotNull(infra.EventGridTemplate["resources"]);
    }

    [Fact]
    public async Task Lint_is_clean_for_every_template()
    {
        var result = await infra.RunAsync(null, "lint", "--pattern", "**/*.bicep");

        Assert.True(result.ExitCode == 0 && result.Diagnostics.Count == 0, result.StandardOutput + result.StandardError);
    }

    public static TheoryData<string, string> BrokenRules => new()
    {
        { "no-unused-params", "param unusedParameter string\n" },
        { "no-unused-vars", "var unusedVariable = 1\n" },
        { "no-hardcoded-env-urls", "output endpoint string = 'https://management.azure.com/'\n" },
        { "secure-parameter-default", "@secure()\nparam password string = 'not-a-secret-default'\noutput length int = length(password)\n" },
        { "outputs-should-not-contain-secrets", "resource st 'Microsoft.Storage/storageAccounts@2025-01-01' existing = { name: 'stexample' }\noutput key string = st.listKeys().keys[0].value\n" },
        { "no-hardcoded-location", "resource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {\n  name: 'id-example'\n  location: 'westeurope'\n}\n" },
        { "use-stable-resource-identifiers", "param seed string = newGuid()\nresource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {\n  name: 'id-${seed}'\n  location: resourceGroup().location\n}\n" },
    };

    [Theory]
    [MemberData(nameof(BrokenRules))]
    public async Task Bicepconfig_makes_an_important_rule_an_error_that_fails_lint(string rule, string template)
    {
        // A scratch folder beside the real bicepconfig.json: the same configuration applies to it.
        var folder = Path.Combine(infra.InfraDirectory, "lint-" + rule);
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "broken.bicep"), template);
        try
        {
            var result = await infra.RunAsync(null, "lint", Path.Combine(folder, "broken.bicep"));

            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains(result.Diagnostics, d => d.Contains($" : Error {rule}:", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
