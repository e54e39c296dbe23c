using System.Text.Json.Nodes;
using Azure.Core;

namespace Gatehouse.Cli.Deploy;

/// <summary>
/// The ARM REST resources <c>gatehouse deploy</c> uses in one resource group: the group itself, the
/// <c>Microsoft.Resources/deployments</c> resource (PUT, GET, operations, what-if) and the Function App site.
/// </summary>
internal sealed class ResourceGroupDeployments(ArmRest arm, string subscriptionId, string resourceGroup)
{
    /// <summary>Deployments, their operations and what-if: the newest stable version on Learn's REST reference (Deployments - Create Or Update, What If).</summary>
    public const string DeploymentsApiVersion = "2025-04-01";

    /// <summary>Resource groups: the version Learn's REST reference documents for Resource Groups - Get / Create Or Update.</summary>
    public const string ResourceGroupsApiVersion = "2021-04-01";

    /// <summary>Microsoft.Web sites: a version whose schema has <c>functionAppConfig</c>, which Flex Consumption apps need.</summary>
    public const string WebSitesApiVersion = "2024-04-01";

    private string GroupPath => $"/subscriptions/{Uri.EscapeDataString(subscriptionId)}/resourcegroups/{Uri.EscapeDataString(resourceGroup)}";

    private string DeploymentPath(string name) => $"{GroupPath}/providers/Microsoft.Resources/deployments/{Uri.EscapeDataString(name)}";

    /// <summary>The resource group's location, or null when it does not exist.</summary>
    public async Task<string?> FindResourceGroupAsync(CancellationToken cancellationToken)
    {
        try
        {
            var group = await arm.SendAsync(RequestMethod.Get, arm.At($"{GroupPath}?api-version={ResourceGroupsApiVersion}"), null, cancellationToken);
            return group.Body?["location"].Text() ?? "";
        }
        catch (ArmCallFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public Task<ArmResponse> CreateResourceGroupAsync(string location, CancellationToken cancellationToken) =>
        arm.SendAsync(RequestMethod.Put, arm.At($"{GroupPath}?api-version={ResourceGroupsApiVersion}"), new JsonObject { ["location"] = location }, cancellationToken);

    /// <summary>PUT the deployment: <c>{"properties":{"mode":"Incremental","template":…,"parameters":…}}</c>.</summary>
    public Task<ArmResponse> StartDeploymentAsync(string name, CompiledTemplate compiled, CancellationToken cancellationToken) =>
        arm.SendAsync(RequestMethod.Put, DeploymentUri(name), new JsonObject { ["properties"] = Properties(compiled) }, cancellationToken);

    public Uri DeploymentUri(string name) => arm.At($"{DeploymentPath(name)}?api-version={DeploymentsApiVersion}");

    public Task<ArmResponse> GetDeploymentAsync(string name, CancellationToken cancellationToken) =>
        arm.SendAsync(RequestMethod.Get, DeploymentUri(name), null, cancellationToken);

    /// <summary>Every operation of the deployment (one per resource, plus output evaluation), following <c>nextLink</c>.</summary>
    public async Task<IReadOnlyList<JsonObject>> ListOperationsAsync(string name, CancellationToken cancellationToken)
    {
        var operations = new List<JsonObject>();
        var next = arm.At($"{DeploymentPath(name)}/operations?api-version={DeploymentsApiVersion}");
        while (next is not null)
        {
            var page = await arm.SendAsync(RequestMethod.Get, next, null, cancellationToken);
            operations.AddRange((page.Body?["value"] as JsonArray ?? []).OfType<JsonObject>());
            next = page.Body?["nextLink"].Text() is { Length: > 0 } link ? new Uri(link) : null;
        }
        return operations;
    }

    /// <summary>POST …/whatIf with the same properties as the deployment, asking for full resource payloads.</summary>
    public Task<ArmResponse> StartWhatIfAsync(string name, CompiledTemplate compiled, CancellationToken cancellationToken)
    {
        var properties = Properties(compiled);
        properties["whatIfSettings"] = new JsonObject { ["resultFormat"] = "FullResourcePayloads" };
        return arm.SendAsync(RequestMethod.Post, arm.At($"{DeploymentPath(name)}/whatIf?api-version={DeploymentsApiVersion}"),
            new JsonObject { ["properties"] = properties }, cancellationToken);
    }

    /// <summary>GET the Function App (<c>Microsoft.Web/sites</c>) the deployment made.</summary>
    public Task<ArmResponse> GetSiteAsync(string siteName, CancellationToken cancellationToken) =>
        arm.SendAsync(RequestMethod.Get, arm.At($"{GroupPath}/providers/Microsoft.Web/sites/{Uri.EscapeDataString(siteName)}?api-version={WebSitesApiVersion}"), null, cancellationToken);

    private static JsonObject Properties(CompiledTemplate compiled) => new()
    {
        ["mode"] = "Incremental",
        ["template"] = compiled.Template.DeepClone(),
        ["parameters"] = compiled.Parameters.DeepClone(),
    };
}
