using System.Reflection;
using Gatehouse.Storage;

namespace Gatehouse.Infra.Tests;

[Collection(InfraCollection.Name)]
public sealed class StorageTests(InfraWorkspace infra)
{
    [Theory]
    [InlineData("default")]
    [InlineData("production")]
    public void Storage_account_accepts_only_Entra_ID_over_HTTPS_with_TLS_1_2_and_no_public_blobs(string profile)
    {
        var storage = new Deployment(infra.Profile(profile)).Storage;

        Assert.False(storage.Bool("properties.allowSharedKeyAccess"));
        Assert.True(storage.Bool("properties.defaultToOAuthAuthentication"));
        Assert.False(storage.Bool("properties.allowBlobPublicAccess"));
        Assert.True(storage.Bool("properties.supportsHttpsTrafficOnly"));
        Assert.Equal("TLS1_2", storage.Str("properties.minimumTlsVersion"));
        Assert.False(storage.Bool("properties.allowCrossTenantReplication"));
    }

    [Fact]
    public void Production_storage_is_zone_redundant()
    {
        Assert.Equal("Standard_LRS", new Deployment(infra.Default).Storage.Str("sku.name"));
        Assert.Equal("Standard_ZRS", new Deployment(infra.Production).Storage.Str("sku.name"));
    }

    [Theory]
    [InlineData("default")]
    [InlineData("production")]
    public void Every_container_and_table_the_app_uses_is_deployed_and_private(string profile)
    {
        var deployment = new Deployment(infra.Profile(profile));
        var containers = deployment.StorageChildren("blobServices/containers");
        var tables = deployment.StorageChildren("tableServices/tables");

        // The names the app itself uses: the public constants of GatehouseStorage.
        var constants = typeof(GatehouseStorage).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string)).ToList();
        var appContainers = constants.Where(f => f.Name.EndsWith("Container", StringComparison.Ordinal)).Select(f => (string)f.GetRawConstantValue()!).ToList();
        var appTables = constants.Where(f => f.Name.EndsWith("Table", StringComparison.Ordinal)).Select(f => (string)f.GetRawConstantValue()!).ToList();
        Assert.Contains("uploads", appContainers);
        Assert.Contains("verdicts", appTables);

        Assert.Empty(appContainers.Except(containers));
        Assert.Equal(appTables.Order(), tables.Order());
        // Besides the app's: the Flex deployment container and Event Grid's dead letters, nothing else.
        Assert.Equal(
            appContainers.Append(deployment.DeploymentContainerName).Append("eventgrid-deadletter").Order(),
            containers.Order());
        foreach (var container in deployment.Snapshot.OfType($"{Deployment.StorageType}/blobServices/containers"))
        {
            Assert.Equal("None", container.Str("properties.publicAccess"));
        }
    }

    [Theory]
    [InlineData("default", 7, 30)]
    [InlineData("production", 30, 365)]
    public void Deleted_blobs_and_containers_are_recoverable_and_protected_containers_keep_their_versions(string profile, int softDeleteDays, int versionDays)
    {
        var deployment = new Deployment(infra.Profile(profile));
        var blobService = deployment.Snapshot.Single($"{Deployment.StorageType}/blobServices");

        // Versioning and soft delete are account-wide in Azure Storage; what differs per container is how long
        // previous versions are kept, which is the lifecycle policy below.
        Assert.True(blobService.Bool("properties.isVersioningEnabled"));
        Assert.True(blobService.Bool("properties.deleteRetentionPolicy.enabled"));
        Assert.Equal(softDeleteDays, blobService.Int("properties.deleteRetentionPolicy.days"));
        Assert.True(blobService.Bool("properties.containerDeleteRetentionPolicy.enabled"));
        Assert.Equal(softDeleteDays, blobService.Int("properties.containerDeleteRetentionPolicy.days"));

        var rules = deployment.Snapshot.Single($"{Deployment.StorageType}/managementPolicies").At("properties.policy.rules")!.AsArray()
            .ToDictionary(r => (string)r!["name"]!, r => r!);
        var protectedRule = rules["keepProtectedVersions"];
        var otherRule = rules["expireOtherVersions"];
        var protectedPrefixes = protectedRule.At("definition.filters.prefixMatch")!.AsArray().Select(p => (string)p!).ToList();
        var otherPrefixes = otherRule.At("definition.filters.prefixMatch")!.AsArray().Select(p => (string)p!).ToList();

        Assert.Equal(["artifacts/", "config/", "quarantine/"], protectedPrefixes.Order());
        Assert.Equal(versionDays, protectedRule.Int("definition.actions.version.delete.daysAfterCreationGreaterThan"));
        Assert.Equal(1, otherRule.Int("definition.actions.version.delete.daysAfterCreationGreaterThan"));
        // Two delete rules on one blob fire at the earlier age: a protected container must match no other rule.
        Assert.DoesNotContain(otherPrefixes, o => protectedPrefixes.Any(p => p.StartsWith(o, StringComparison.Ordinal) || o.StartsWith(p, StringComparison.Ordinal)));
        // Every other container, and the host's and the Durable hub's own containers, lose old versions after a day.
        var unprotected = deployment.StorageChildren("blobServices/containers").Where(c => !protectedPrefixes.Contains(c + "/"));
        Assert.All(unprotected, c => Assert.Contains(c + "/", otherPrefixes));
        Assert.Contains("azure-webjobs-", otherPrefixes);
        Assert.Contains("gatehouse-", otherPrefixes); // host.json extensions.durableTask.hubName
        Assert.True(otherPrefixes.Count <= 10, "a lifecycle rule takes at most 10 prefixes");
        // Neither rule ever deletes a current blob: only previous versions.
        Assert.All(rules.Values, r => Assert.Null(r.At("definition.actions.baseBlob")));
    }
}
