using System.Text.Json.Nodes;
using Gatehouse.TestHelpers;

namespace Gatehouse.Infra.Tests;

/// <summary>
/// A copy of the repository's infra/ (and the host.json main.bicep reads) in a temporary folder, compiled and
/// snapshotted once for all tests with the real Bicep CLI. Working on a copy keeps the committed snapshots untouched;
/// scripts/infra-check.sh validates those.
/// </summary>
public sealed class InfraWorkspace : IAsyncLifetime
{
    // The same fixed deployment context as scripts/lib/bicep.sh, so the names match the committed snapshots.
    public const string Tenant = "00000000-0000-0000-0000-000000000000";
    public const string Subscription = "00000000-0000-0000-0000-000000000001";
    public const string ResourceGroup = "rg-gatehouse-snapshot";
    public const string Location = "swedencentral";
    public const string ResourceGroupId = $"/subscriptions/{Subscription}/resourceGroups/{ResourceGroup}";

    /// <summary>The object id of an operator group / signed-in user in the snapshots that have one.</summary>
    public const string OperatorGroupId = "11111111-2222-3333-4444-555555555555";
    public const string SignedInUserId = "66666666-7777-8888-9999-000000000000";

    /// <summary>Theory names of <see cref="DefaultWithSignedInUser"/> and <see cref="ProductionWithOperators"/>.</summary>
    public const string DefaultWithSignedInUserProfile = "default with signed-in user";
    public const string ProductionWithOperatorsProfile = "production with operators";

    public static readonly IReadOnlyDictionary<string, string> PhaseTwoEnvironment = new Dictionary<string, string>
    {
        ["AZURE_FUNCTION_APP_NAME"] = "func-snapshot",
        ["AZURE_EVENTGRID_SYSTEM_TOPIC_NAME"] = "egst-snapshot",
        ["AZURE_STORAGE_ACCOUNT_NAME"] = "stsnapshot",
    };

    public BicepCli Bicep { get; } = BicepCli.Find();

    /// <summary>The copy's infra folder.</summary>
    public string InfraDirectory => Path.Combine(_root, "infra");

    private readonly string _root = Path.Combine(Path.GetTempPath(), "gatehouse-infra-tests-" + Guid.NewGuid().ToString("N"));

    public JsonObject MainTemplate { get; private set; } = null!;
    public JsonObject EventGridTemplate { get; private set; } = null!;

    /// <summary>main.bicepparam as CI deploys it (no azd environment).</summary>
    public ArmSnapshot Default { get; private set; } = null!;

    /// <summary>main.bicepparam as azd deploys it: AZURE_PRINCIPAL_ID is the signed-in user.</summary>
    public ArmSnapshot DefaultWithSignedInUser { get; private set; } = null!;

    /// <summary>main.prod.bicepparam without an operator group.</summary>
    public ArmSnapshot Production { get; private set; } = null!;

    /// <summary>main.prod.bicepparam with GATEHOUSE_OPERATOR_GROUP_ID set.</summary>
    public ArmSnapshot ProductionWithOperators { get; private set; } = null!;

    /// <summary>Phase 2, eventgrid.bicepparam with the names main.bicep outputs.</summary>
    public ArmSnapshot EventGrid { get; private set; } = null!;

    /// <summary>A snapshot by name, for theories: the two main profiles, and each with its operator principal.</summary>
    public ArmSnapshot Profile(string name) => name switch
    {
        "default" => Default,
        "production" => Production,
        DefaultWithSignedInUserProfile => DefaultWithSignedInUser,
        ProductionWithOperatorsProfile => ProductionWithOperators,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    public async Task InitializeAsync()
    {
        CopyDirectory(Path.Combine(RepositoryPaths.Root, "infra"), InfraDirectory);
        File.Copy(Path.Combine(RepositoryPaths.Root, "host.json"), Path.Combine(_root, "host.json"));
        foreach (var snapshot in Directory.GetFiles(InfraDirectory, "*.snapshot.json"))
        {
            File.Delete(snapshot);
        }
        // The same parameter file under another name, so two environments can be snapshotted side by side.
        File.Copy(Path.Combine(InfraDirectory, "main.bicepparam"), Path.Combine(InfraDirectory, "main.user.bicepparam"));
        File.Copy(Path.Combine(InfraDirectory, "main.prod.bicepparam"), Path.Combine(InfraDirectory, "main.prod.operators.bicepparam"));

        var main = BuildAsync("main.bicep");
        var eventGrid = BuildAsync("eventgrid.bicep");
        var defaults = SnapshotAsync("main.bicepparam", null);
        var user = SnapshotAsync("main.user.bicepparam", new Dictionary<string, string> { ["AZURE_PRINCIPAL_ID"] = SignedInUserId });
        var production = SnapshotAsync("main.prod.bicepparam", null);
        var operators = SnapshotAsync("main.prod.operators.bicepparam", new Dictionary<string, string> { ["GATEHOUSE_OPERATOR_GROUP_ID"] = OperatorGroupId });
        var phaseTwo = SnapshotAsync("eventgrid.bicepparam", PhaseTwoEnvironment);

        MainTemplate = await main;
        EventGridTemplate = await eventGrid;
        Default = await defaults;
        DefaultWithSignedInUser = await user;
        Production = await production;
        ProductionWithOperators = await operators;
        EventGrid = await phaseTwo;
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is not worth failing a run for.
        }
        return Task.CompletedTask;
    }

    /// <summary>Runs bicep in the copy's infra folder.</summary>
    public Task<BicepResult> RunAsync(IReadOnlyDictionary<string, string>? environment, params string[] arguments) =>
        Bicep.RunAsync(InfraDirectory, environment, arguments);

    private async Task<JsonObject> BuildAsync(string template)
    {
        var result = (await RunAsync(null, "build", template, "--stdout")).EnsureClean();
        return JsonNode.Parse(result.StandardOutput)!.AsObject();
    }

    private async Task<ArmSnapshot> SnapshotAsync(string parameters, IReadOnlyDictionary<string, string>? environment)
    {
        (await RunAsync(environment, "snapshot", parameters, "--mode", "overwrite",
            "--tenant-id", Tenant, "--subscription-id", Subscription, "--resource-group", ResourceGroup,
            "--location", Location, "--deployment-name", "gatehouse")).EnsureClean();
        var file = Path.Combine(InfraDirectory, Path.GetFileNameWithoutExtension(parameters) + ".snapshot.json");
        var name = environment is null ? parameters : $"{parameters} with {string.Join(", ", environment.Keys)}";
        return new ArmSnapshot(name, JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsObject());
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
        foreach (var directory in Directory.GetDirectories(from))
        {
            CopyDirectory(directory, Path.Combine(to, Path.GetFileName(directory)));
        }
    }
}

[CollectionDefinition(Name)]
public sealed class InfraCollection : ICollectionFixture<InfraWorkspace>
{
    public const string Name = "infra";
}
