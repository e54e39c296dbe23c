using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Gatehouse.Infra.Tests;

[Collection(InfraCollection.Name)]
public sealed partial class RoleAssignmentTests(InfraWorkspace infra)
{
    // Built-in role definition ids.
    private const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string StorageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
    private const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string MonitoringMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";
    private const string EventGridDataSender = "d5a91429-5739-47e2-a06b-3470a27159e7";
    private const string KeyVaultSecretsUser = "4633458b-17de-408a-b874-0445c86b69e6";
    private const string KeyVaultSecretsOfficer = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";
    private const string Owner = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
    private const string Contributor = "b24988ac-6180-42a0-ab88-20f7382dd24c";
    private const string UserAccessAdministrator = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";
    private const string RoleBasedAccessControlAdministrator = "f58310d9-a9f6-439a-9e8d-f62e7b41a168";

    private const string App = "app identity";
    private const string SystemTopic = "storage system topic";

    [Theory]
    [InlineData("default")]
    [InlineData("production")]
    public void App_and_Event_Grid_get_exactly_the_data_roles_they_need_on_exactly_their_resources(string profile)
    {
        var deployment = new Deployment(infra.Profile(profile));

        Assert.Equal(ExpectedFor(deployment).Order(), Assignments(deployment).Select(a => a.Key).Order());
    }

    [Theory]
    [InlineData(InfraWorkspace.DefaultWithSignedInUserProfile, InfraWorkspace.SignedInUserId, "User")] // a signed-in azd user
    [InlineData(InfraWorkspace.ProductionWithOperatorsProfile, InfraWorkspace.OperatorGroupId, "Group")] // a production operator group
    public void An_operator_principal_additionally_gets_only_Key_Vault_Secrets_Officer(string profile, string principal, string principalType)
    {
        var deployment = new Deployment(infra.Profile(profile));
        var assignments = Assignments(deployment);

        var expected = ExpectedFor(deployment).Append((principal, KeyVaultSecretsOfficer, Deployment.Id(deployment.Vault)));
        Assert.Equal(expected.Order(), assignments.Select(a => a.Key).Order());
        Assert.Equal(principalType, assignments.Single(a => a.Key.Principal == principal).PrincipalType);
    }

    [Theory]
    [InlineData("default")]
    [InlineData("production")]
    public void No_assignment_is_privileged_or_at_resource_group_scope_and_every_service_principal_says_so(string profile)
    {
        var assignments = Assignments(new Deployment(infra.Profile(profile)));

        Assert.NotEmpty(assignments);
        Assert.All(assignments, a =>
        {
            Assert.DoesNotContain(a.Key.Role, new[] { Owner, Contributor, UserAccessAdministrator, RoleBasedAccessControlAdministrator });
            Assert.NotEqual(InfraWorkspace.ResourceGroupId, a.Key.Scope, StringComparer.OrdinalIgnoreCase);
            Assert.StartsWith(InfraWorkspace.ResourceGroupId + "/providers/", a.Key.Scope, StringComparison.OrdinalIgnoreCase);
            if (a.Key.Principal is App or SystemTopic)
            {
                Assert.Equal("ServicePrincipal", a.PrincipalType);
            }
        });
    }

    [Fact]
    public void Assignment_names_are_guid_of_scope_principal_and_role()
    {
        foreach (var snapshot in new[] { infra.Default, infra.ProductionWithOperators })
        {
            foreach (var resource in snapshot.OfType(Deployment.RoleAssignmentType))
            {
                var (scope, principalExpression, role) = Parse(resource);
                var name = (string)resource["name"]!;
                if (principalExpression.StartsWith('['))
                {
                    // The principal id exists only in Azure: the name stays the guid() expression.
                    Assert.Equal($"[guid('{scope}', {principalExpression[1..^1]}, '{role}')]", name);
                }
                else
                {
                    Assert.Equal(ArmGuid(scope, principalExpression, role), name);
                }
            }
        }
    }

    [Fact]
    public void Arm_guid_stand_in_matches_a_value_bicep_computed()
    {
        // Guards the stand-in above: bicep evaluated this one for an operator group on a vault.
        Assert.Equal("35eb58b2-c15e-5149-9f5a-db570b802156", ArmGuid(
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-veg676olkhwam",
            "11111111-2222-3333-4444-555555555555", KeyVaultSecretsOfficer));
    }

    /// <summary>The app's six data roles and Event Grid's dead-letter role, at the scopes rbac.bicep documents.</summary>
    private static IEnumerable<(string Principal, string Role, string Scope)> ExpectedFor(Deployment deployment)
    {
        var storage = deployment.StorageId;
        return
        [
            (App, StorageBlobDataOwner, storage),
            (App, StorageQueueDataContributor, storage),
            (App, StorageTableDataContributor, storage),
            (App, MonitoringMetricsPublisher, Deployment.Id(deployment.Component)),
            (App, EventGridDataSender, Deployment.Id(deployment.VerdictTopic)),
            (App, KeyVaultSecretsUser, Deployment.Id(deployment.Vault)),
            (SystemTopic, StorageBlobDataContributor, $"{storage}/blobServices/default/containers/eventgrid-deadletter"),
        ];
    }

    private sealed record Assignment((string Principal, string Role, string Scope) Key, string PrincipalType);

    private static IReadOnlyList<Assignment> Assignments(Deployment deployment)
    {
        var appPrincipal = $"[{Deployment.ReferenceTo(deployment.Identity, "principalId")}]";
        var topicPrincipal = $"[reference('{Deployment.Id(deployment.SystemTopic)}', '{(string)deployment.SystemTopic["apiVersion"]!}', 'full').identity.principalId]";
        return deployment.Snapshot.OfType(Deployment.RoleAssignmentType).Select(resource =>
        {
            var (scope, principal, role) = Parse(resource);
            var who = principal == appPrincipal ? App : principal == topicPrincipal ? SystemTopic : principal;
            return new Assignment((who, role, scope), resource.Str("properties.principalType")!);
        }).ToList();
    }

    /// <summary>(scope id, principal id or its expression, role definition guid) of a predicted role assignment.</summary>
    private static (string Scope, string Principal, string Role) Parse(JsonObject resource)
    {
        var id = (string)resource["id"]!;
        var scope = ExtensionId().Match(id) is { Success: true } m ? m.Groups["scope"].Value
            : id[..id.IndexOf("/providers/Microsoft.Authorization/roleAssignments/", StringComparison.Ordinal)];
        var roleDefinition = resource.Str("properties.roleDefinitionId")!;
        var prefix = $"/subscriptions/{InfraWorkspace.Subscription}/providers/Microsoft.Authorization/roleDefinitions/";
        Assert.StartsWith(prefix, roleDefinition);
        return (scope, resource.Str("properties.principalId")!, roleDefinition[prefix.Length..]);
    }

    /// <summary>ARM's guid(): a version-5 UUID of the arguments joined by '-' in ARM's namespace.</summary>
    private static string ArmGuid(params string[] parts)
    {
        byte[] space = [0x11, 0xfb, 0x06, 0xfb, 0x71, 0x2d, 0x4d, 0xdd, 0x98, 0xc7, 0xe7, 0x1b, 0xbd, 0x58, 0x88, 0x30];
        var hash = SHA1.HashData([.. space, .. Encoding.UTF8.GetBytes(string.Join('-', parts))]);
        hash[6] = (byte)((hash[6] & 0x0f) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3f) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true).ToString();
    }

    [GeneratedRegex(@"^\[extensionResourceId\('(?<scope>[^']+)', 'Microsoft\.Authorization/roleAssignments', ")]
    private static partial Regex ExtensionId();
}
