using System.Text.Json.Nodes;

namespace Gatehouse.Infra.Tests;

/// <summary>The main resources of one main.bicep snapshot, found by type, with the ids other resources refer to them by.</summary>
public sealed class Deployment(ArmSnapshot snapshot)
{
    public const string IdentityType = "Microsoft.ManagedIdentity/userAssignedIdentities";
    public const string StorageType = "Microsoft.Storage/storageAccounts";
    public const string SiteType = "Microsoft.Web/sites";
    public const string PlanType = "Microsoft.Web/serverfarms";
    public const string AppSettingsType = "Microsoft.Web/sites/config";
    public const string VaultType = "Microsoft.KeyVault/vaults";
    public const string ComponentType = "Microsoft.Insights/components";
    public const string WorkspaceType = "Microsoft.OperationalInsights/workspaces";
    public const string SystemTopicType = "Microsoft.EventGrid/systemTopics";
    public const string TopicType = "Microsoft.EventGrid/topics";
    public const string RoleAssignmentType = "Microsoft.Authorization/roleAssignments";
    public const string DiagnosticSettingType = "Microsoft.Insights/diagnosticSettings";

    public ArmSnapshot Snapshot { get; } = snapshot;

    public JsonObject Identity => Snapshot.Single(IdentityType);
    public JsonObject Storage => Snapshot.Single(StorageType);
    public JsonObject Site => Snapshot.Single(SiteType);
    public JsonObject Plan => Snapshot.Single(PlanType);
    public JsonObject Vault => Snapshot.Single(VaultType);
    public JsonObject Component => Snapshot.Single(ComponentType);
    public JsonObject Workspace => Snapshot.Single(WorkspaceType);
    public JsonObject SystemTopic => Snapshot.Single(SystemTopicType);
    public JsonObject VerdictTopic => Snapshot.Single(TopicType);

    public string IdentityId => Id(Identity);
    public string StorageId => Id(Storage);

    /// <summary>The app settings (the sites/config "appsettings" resource).</summary>
    public JsonObject AppSettings
    {
        get
        {
            var config = Snapshot.OfType(AppSettingsType).Where(r => ((string)r["name"]!).EndsWith("/appsettings", StringComparison.Ordinal)).ToList();
            Assert.True(config.Count == 1, $"{Snapshot}: expected one appsettings resource, found {config.Count}");
            return config[0]["properties"]!.AsObject();
        }
    }

    public string? Setting(string name) => (string?)AppSettings[name];

    /// <summary>
    /// The container the Flex app deploys from, read from functionAppConfig.deployment.storage.value, which must be
    /// the account's blob endpoint followed by the container name.
    /// </summary>
    public string DeploymentContainerName
    {
        get
        {
            var value = Site.Str("properties.functionAppConfig.deployment.storage.value")!;
            var match = System.Text.RegularExpressions.Regex.Match(value,
                $@"^\[format\('\{{0\}}\{{1\}}', {System.Text.RegularExpressions.Regex.Escape(ReferenceTo(Storage, "primaryEndpoints.blob"))}, '([a-z0-9-]+)'\)\]$");
            Assert.True(match.Success, $"{Snapshot}: the deployment container is not <storage blob endpoint><container>: {value}");
            return match.Groups[1].Value;
        }
    }

    /// <summary>Child resources of the storage account of one type, by their last name segment.</summary>
    public IReadOnlyList<string> StorageChildren(string childType) =>
        Snapshot.OfType($"{StorageType}/{childType}").Select(r => ((string)r["name"]!).Split('/')[^1]).ToList();

    /// <summary>How the snapshot writes the run-time value of a resource's property: [reference('id', 'api').path].</summary>
    public static string ReferenceTo(JsonObject resource, string path) =>
        $"reference('{Id(resource)}', '{(string)resource["apiVersion"]!}').{path}";

    public static string Id(JsonObject resource) => (string)resource["id"]!;
}
