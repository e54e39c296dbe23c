namespace Gatehouse.Infra.Tests;

[Collection(InfraCollection.Name)]
public sealed class KeyVaultAndMonitoringTests(InfraWorkspace infra)
{
    [Theory]
    [InlineData("default", 7, null)]
    [InlineData("production", 90, true)]
    public void Key_Vault_is_RBAC_only_with_soft_delete_and_purge_protection_in_production(string profile, int retention, bool? purgeProtection)
    {
        var vault = new Deployment(infra.Profile(profile)).Vault;

        Assert.True(vault.Bool("properties.enableRbacAuthorization"));
        Assert.Empty(vault.At("properties.accessPolicies")?.AsArray() ?? []);
        Assert.True(vault.Bool("properties.enableSoftDelete"));
        Assert.Equal(retention, vault.Int("properties.softDeleteRetentionInDays"));
        // Off is "absent": the service rejects enablePurgeProtection: false.
        Assert.Equal(purgeProtection, vault.Bool("properties.enablePurgeProtection"));
        Assert.False(vault.Bool("properties.enabledForTemplateDeployment"));
        Assert.Equal(InfraWorkspace.Tenant, vault.Str("properties.tenantId"));
    }

    [Theory]
    [InlineData("default", 30)]
    [InlineData("production", 90)]
    public void Telemetry_is_ingested_with_Entra_ID_only_into_a_workspace_with_the_profile_s_retention(string profile, int retention)
    {
        var deployment = new Deployment(infra.Profile(profile));

        Assert.True(deployment.Component.Bool("properties.DisableLocalAuth"));
        Assert.Equal(Deployment.Id(deployment.Workspace), deployment.Component.Str("properties.WorkspaceResourceId"));
        Assert.True(deployment.Workspace.Bool("properties.features.disableLocalAuth"));
        Assert.Equal(retention, deployment.Workspace.Int("properties.retentionInDays"));
        Assert.Equal($"[{Deployment.ReferenceTo(deployment.Component, "ConnectionString")}]", deployment.Setting("APPLICATIONINSIGHTS_CONNECTION_STRING"));
    }

    [Theory]
    [InlineData("default")]
    [InlineData("production")]
    public void Every_resource_with_logs_sends_them_to_Log_Analytics(string profile)
    {
        var deployment = new Deployment(infra.Profile(profile));
        var settings = deployment.Snapshot.OfType(Deployment.DiagnosticSettingType);
        var storage = deployment.StorageId;

        var scopes = settings.Select(s => ((string)s["id"]!)[..((string)s["id"]!).IndexOf("/providers/Microsoft.Insights/diagnosticSettings/", StringComparison.Ordinal)]);
        Assert.Equal(
            new[]
            {
                storage, $"{storage}/blobServices/default", $"{storage}/queueServices/default", $"{storage}/tableServices/default",
                Deployment.Id(deployment.Site), Deployment.Id(deployment.Vault), Deployment.Id(deployment.SystemTopic), Deployment.Id(deployment.VerdictTopic),
            }.Order(),
            scopes.Order());
        Assert.All(settings, s => Assert.Equal(Deployment.Id(deployment.Workspace), s.Str("properties.workspaceId")));

        string[] Logs(string scope) => settings.Single(s => ((string)s["id"]!).StartsWith(scope + "/providers/", StringComparison.Ordinal))
            .At("properties.logs")?.AsArray().Where(l => l!.Bool("enabled") == true).Select(l => l!.Str("category")!).Order().ToArray() ?? [];
        Assert.Equal(["StorageDelete", "StorageRead", "StorageWrite"], Logs($"{storage}/blobServices/default"));
        Assert.Equal(["AuditEvent"], Logs(Deployment.Id(deployment.Vault)));
        Assert.Equal(["FunctionAppLogs"], Logs(Deployment.Id(deployment.Site)));
        Assert.Equal(["DeliveryFailures"], Logs(Deployment.Id(deployment.SystemTopic)));
    }
}
