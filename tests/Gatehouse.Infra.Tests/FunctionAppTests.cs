using System.Text.RegularExpressions;
using System.Xml.Linq;
using Gatehouse.Configuration;
using Gatehouse.Storage;
using Gatehouse.TestHelpers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Gatehouse.Infra.Tests;

[Collection(InfraCollection.Name)]
public sealed class FunctionAppTests(InfraWorkspace infra)
{
    [Theory]
    [InlineData("default")]
    [InlineData("production")]
    public void App_runs_dotnet_isolated_10_on_a_Flex_Consumption_plan(string profile)
    {
        var deployment = new Deployment(infra.Profile(profile));

        Assert.Equal("FC1", deployment.Plan.Str("sku.name"));
        Assert.Equal("FlexConsumption", deployment.Plan.Str("sku.tier"));
        Assert.True(deployment.Plan.Bool("properties.reserved")); // Linux
        Assert.Equal("functionapp,linux", deployment.Site.Str("kind"));
        Assert.Equal(Deployment.Id(deployment.Plan), deployment.Site.Str("properties.serverFarmId"));
        Assert.Equal("dotnet-isolated", deployment.Site.Str("properties.functionAppConfig.runtime.name"));
        Assert.Equal("10.0", deployment.Site.Str("properties.functionAppConfig.runtime.version"));

        // The runtime version is the one the app is built for (Directory.Build.props: net10.0).
        var targetFramework = XDocument.Load(Path.Combine(RepositoryPaths.Root, "Directory.Build.props"))
            .Descendants("TargetFramework").Single().Value;
        Assert.Equal("net" + deployment.Site.Str("properties.functionAppConfig.runtime.version"), targetFramework);
    }

    [Theory]
    [InlineData("default")]
    [InlineData("production")]
    public void App_answers_only_HTTPS_with_TLS_1_2_and_has_no_FTP_or_publishing_passwords(string profile)
    {
        var deployment = new Deployment(infra.Profile(profile));
        var site = deployment.Site;

        Assert.True(site.Bool("properties.httpsOnly"));
        Assert.Equal("1.2", site.Str("properties.siteConfig.minTlsVersion"));
        Assert.Equal("1.2", site.Str("properties.siteConfig.scmMinTlsVersion"));
        Assert.Equal("Disabled", site.Str("properties.siteConfig.ftpsState"));
        var policies = deployment.Snapshot.OfType("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
            .ToDictionary(p => ((string)p["name"]!).Split('/')[^1], p => p.Bool("properties.allow"));
        Assert.Equal(new Dictionary<string, bool?> { ["ftp"] = false, ["scm"] = false }, policies);
    }

    [Theory]
    [InlineData("default", 1, 0, 2048, 100)]
    [InlineData("production", 2, 2, 4096, 200)]
    public void Durable_group_is_always_ready_and_the_scale_limits_are_the_profile_s(string profile, int durable, int http, int memory, int maximum)
    {
        var scale = new Deployment(infra.Profile(profile)).Site.At("properties.functionAppConfig.scaleAndConcurrency")!;
        var alwaysReady = scale["alwaysReady"]!.AsArray().ToDictionary(g => (string)g!["name"]!, g => (int)g!["instanceCount"]!);

        Assert.True(alwaysReady["durable"] >= 1);
        Assert.Equal(durable, alwaysReady["durable"]);
        Assert.Equal(http, alwaysReady.GetValueOrDefault("http"));
        Assert.Equal(http == 0 ? 1 : 2, alwaysReady.Count);
        Assert.Equal(memory, scale.Int("instanceMemoryMB"));
        Assert.Equal(maximum, scale.Int("maximumInstanceCount"));
    }

    [Theory]
    [InlineData("default")]
    [InlineData("production")]
    public void App_runs_as_one_user_assigned_identity_for_storage_deployment_Key_Vault_and_telemetry(string profile)
    {
        var deployment = new Deployment(infra.Profile(profile));
        var site = deployment.Site;
        var clientId = $"[{Deployment.ReferenceTo(deployment.Identity, "clientId")}]";

        Assert.Equal("UserAssigned", site.Str("identity.type"));
        Assert.Equal([deployment.IdentityId], site.At("identity.userAssignedIdentities")!.AsObject().Select(p => p.Key));
        Assert.Equal(deployment.IdentityId, site.Str("properties.keyVaultReferenceIdentity"));
        Assert.Equal("blobContainer", site.Str("properties.functionAppConfig.deployment.storage.type"));
        Assert.Equal("UserAssignedIdentity", site.Str("properties.functionAppConfig.deployment.storage.authentication.type"));
        Assert.Equal(deployment.IdentityId, site.Str("properties.functionAppConfig.deployment.storage.authentication.userAssignedIdentityResourceId"));

        Assert.Equal("managedidentity", deployment.Setting("AzureWebJobsStorage__credential"));
        Assert.Equal(clientId, deployment.Setting("AzureWebJobsStorage__clientId"));
        Assert.Equal(clientId, deployment.Setting("AZURE_CLIENT_ID"));
        foreach (var service in new[] { "blob", "queue", "table" })
        {
            Assert.Equal($"[{Deployment.ReferenceTo(deployment.Storage, "primaryEndpoints." + service)}]", deployment.Setting($"AzureWebJobsStorage__{service}ServiceUri"));
        }
        Assert.Equal($"[format('ClientId={{0}};Authorization=AAD', {Deployment.ReferenceTo(deployment.Identity, "clientId")})]",
            deployment.Setting("APPLICATIONINSIGHTS_AUTHENTICATION_STRING"));
        Assert.Equal("Sas", deployment.Setting("Gatehouse__Serving__Mode"));
    }

    [Theory]
    [InlineData("default")]
    [InlineData("production")]
    public void No_app_setting_carries_a_key_a_SAS_or_a_connection_string(string profile)
    {
        var deployment = new Deployment(infra.Profile(profile));
        var settings = deployment.AppSettings.Select(p => (Name: p.Key, Value: (string?)p.Value ?? "")).ToList();
        Assert.NotEmpty(settings);

        foreach (var (name, value) in settings)
        {
            Assert.DoesNotContain("AccountKey=", value, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("SharedAccessSignature", value, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("sig=", value, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotMatch(new Regex(@"\blist[A-Za-z]*\(", RegexOptions.IgnoreCase), value);
            Assert.False(name.EndsWith("ConnectionString", StringComparison.OrdinalIgnoreCase) && name != "APPLICATIONINSIGHTS_CONNECTION_STRING",
                $"{name} looks like a connection string setting");
        }
        var names = settings.Select(s => s.Name).ToHashSet();
        // A plain AzureWebJobsStorage would be a connection string; the content-share settings need account keys; and
        // Flex Consumption rejects the worker-runtime/version/run-from-package settings (functionAppConfig carries them).
        Assert.DoesNotContain("AzureWebJobsStorage", names);
        Assert.DoesNotContain("WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", names);
        Assert.DoesNotContain("WEBSITE_CONTENTSHARE", names);
        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", names);
        Assert.DoesNotContain("FUNCTIONS_EXTENSION_VERSION", names);
        Assert.DoesNotContain("WEBSITE_RUN_FROM_PACKAGE", names);
    }

    [Fact]
    public void Main_template_reads_no_key_of_any_resource()
    {
        var text = infra.MainTemplate.ToJsonString();

        Assert.DoesNotMatch(new Regex(@"\blist(Keys|AccountSas|ServiceSas|ConnectionStrings|Secrets|[A-Za-z]*)\(", RegexOptions.IgnoreCase), text);
        Assert.DoesNotContain("AccountKey", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Hugging_Face_token_is_a_Key_Vault_reference_only_when_the_profile_asks_for_it()
    {
        Assert.Null(new Deployment(infra.Default).Setting("Gatehouse__HuggingFace__UpstreamToken"));

        var production = new Deployment(infra.Production);
        var value = Evaluate(production, production.Setting("Gatehouse__HuggingFace__UpstreamToken")!);
        var vaultName = (string)production.Vault["name"]!;
        Assert.Equal($"@Microsoft.KeyVault(SecretUri=https://{vaultName}.vault.azure.net/secrets/hf-upstream-token/)", value);
        Assert.Matches(@"^@Microsoft\.KeyVault\(SecretUri=https://[a-z0-9-]{3,24}\.vault\.azure\.net/secrets/[A-Za-z0-9-]{1,127}/\)$", value);
    }

    [Fact]
    public void OCI_signing_key_is_a_Key_Vault_reference_in_production_and_generated_by_the_app_by_default()
    {
        Assert.Null(new Deployment(infra.Default).Setting("Gatehouse__Oci__TokenSigningKey"));

        var production = new Deployment(infra.Production);
        var vaultName = (string)production.Vault["name"]!;
        Assert.Equal($"@Microsoft.KeyVault(SecretUri=https://{vaultName}.vault.azure.net/secrets/oci-token-signing-key/)",
            Evaluate(production, production.Setting("Gatehouse__Oci__TokenSigningKey")!));
    }

    [Theory]
    [InlineData("default")]
    [InlineData("production")]
    public void OCI_signing_key_secret_is_written_only_from_a_secure_parameter_that_was_given(string profile)
    {
        var deployment = new Deployment(infra.Profile(profile));
        var vaultName = (string)deployment.Vault["name"]!;

        var secret = Assert.Single(deployment.Snapshot.OfType("Microsoft.KeyVault/vaults/secrets"));
        Assert.Equal($"{vaultName}/oci-token-signing-key", (string)secret["name"]!);
        Assert.Equal("[not(empty(parameters('ociTokenSigningKey')))]", (string)secret["condition"]!);
        Assert.Equal("[parameters('ociTokenSigningKey')]", secret.Str("properties.value"));
        var parameter = infra.MainTemplate["parameters"]!["ociTokenSigningKey"]!;
        Assert.Equal("securestring", ((string)parameter["type"]!).ToLowerInvariant());
        Assert.Equal("", (string)parameter["defaultValue"]!);
        Assert.DoesNotContain("ociTokenSigningKey", deployment.Snapshot.Outputs.ToJsonString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("default")]
    [InlineData("production")]
    public void App_reads_the_identity_based_storage_settings_it_is_given(string profile)
    {
        var deployment = new Deployment(infra.Profile(profile));
        var configuration = AppConfiguration(deployment);
        var storageName = (string)deployment.Storage["name"]!;

        // What the Functions host and GatehouseStorage.FromConfiguration see: no connection string, service URIs + identity.
        Assert.Null(configuration["AzureWebJobsStorage"]);
        var storage = GatehouseStorage.FromConfiguration(configuration);
        Assert.Equal(new Uri($"https://{storageName}.blob.core.windows.net/"), storage.Blobs.Uri);
        Assert.Equal(storageName, storage.Blobs.AccountName);
        Assert.Equal(storageName, storage.TablesService.AccountName);
        Assert.Equal(FakeClientId, configuration["AzureWebJobsStorage:clientId"]);
    }

    [Theory]
    [InlineData("default")]
    [InlineData("production")]
    public void App_settings_pass_the_app_s_own_validation(string profile)
    {
        var configuration = AppConfiguration(new Deployment(infra.Profile(profile)));
        using var services = new ServiceCollection().AddLogging().AddGatehouse(configuration).BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<GatehouseOptions>>().Value; // throws if the Validate rule fails
        Assert.Equal("Sas", options.Serving.Mode);
    }

    private const string FakeClientId = "0c0c0c0c-1111-2222-3333-444444444444";

    /// <summary>The app settings as the app would see them in Azure, with plausible values for what only Azure knows.</summary>
    private static IConfiguration AppConfiguration(Deployment deployment) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(deployment.AppSettings.Select(p =>
                new KeyValuePair<string, string?>(p.Key.Replace("__", ":", StringComparison.Ordinal), Evaluate(deployment, (string)p.Value!))))
            .Build();

    private static string Evaluate(Deployment deployment, string value) =>
        ArmExpressions.Evaluate(value, (id, path) =>
        {
            var resource = deployment.Snapshot.ById(id);
            var name = (string)resource["name"]!;
            return ((string)resource["type"]!, path) switch
            {
                (Deployment.IdentityType, "clientId") => FakeClientId,
                (Deployment.StorageType, var p) when p.StartsWith("primaryEndpoints.", StringComparison.Ordinal) =>
                    $"https://{name}.{p["primaryEndpoints.".Length..]}.core.windows.net/",
                (Deployment.ComponentType, "ConnectionString") =>
                    "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://swedencentral-0.in.applicationinsights.azure.com/",
                (Deployment.TopicType, "endpoint") => $"https://{name}.swedencentral-1.eventgrid.azure.net/api/events",
                (Deployment.VaultType, "vaultUri") => $"https://{name}.vault.azure.net/",
                var other => throw new NotSupportedException($"no stand-in value for {other}"),
            };
        });
}
