using System.Net.Http.Json;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using Gatehouse.Policy;

namespace Gatehouse.EndToEnd.Tests;

/// <summary>
/// A Gatehouse of its own for the policy tests: its own Azurite (the OSV mirror and the policy it holds must not reach
/// the other tests' hosts), the simulator's OSV fixture export loaded, and a policy file on disk (the standalone host's
/// source) that is the built-in default with a seven-day cooldown and two exceptions appended.
/// </summary>
public sealed class PolicyGatehouse : IAsyncLifetime
{
    /// <summary>The policy the host starts with.</summary>
    public static readonly string Policy = PolicyProvider.DefaultText.TrimEnd() + "\n" + """

          - id: cooldown
            description: releases younger than a week wait
            action: quarantine
            when:
              age: { younger-than: 7d }

        exceptions:
          - id: waived-fresh
            match: { remote: pypi, project: gh-waived }
            rules: [cooldown]
            expires: 2099-12-31
            reason: the fix we need today
            owner: security@example.com
          - id: waived-notes
            match: { remote: hf, file: waived-notes.md }
            rules: [cooldown]
            expires: 2099-12-31
            reason: release notes are read before the cooldown ends
            owner: security@example.com
          - id: lapsed-fresh
            match: { remote: pypi, project: gh-lapsed }
            rules: [cooldown]
            expires: 2020-01-31
            reason: a waiver that ran out
            owner: security@example.com
        """ + "\n";

    private PrivateGatehouse? _gatehouse;

    public GatehouseStack Stack => _gatehouse?.Stack ?? throw new InvalidOperationException("The policy Gatehouse did not start.");

    public string PolicyFile { get; } = Path.Combine(TestEnvironment.NewTempDirectory("policy"), "policy.yaml");

    /// <summary>The private Azurite's connection string (for tokens made straight in storage).</summary>
    public string ConnectionString => _gatehouse?.ConnectionString ?? throw new InvalidOperationException("The policy Gatehouse did not start.");

    /// <summary>Refreshes the OSV mirror from the simulator's fixture export now, and checks that it is loaded.</summary>
    public static async Task EnsureOsvLoadedAsync(HttpClient admin)
    {
        using var response = await admin.PostAsync("admin/osv/refresh", null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST /admin/osv/refresh answered {(int)response.StatusCode}: {body}");
        var status = await admin.GetFromJsonAsync<JsonElement>("admin/osv");
        Assert.True(status.GetProperty("loaded").GetBoolean(), $"the OSV mirror is not loaded: {status}");
    }

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(PolicyFile, Policy);
        _gatehouse = await PrivateGatehouse.StartAsync("policy", s => s with { OsvFixture = true, PolicyFile = PolicyFile });
    }

    public async Task DisposeAsync()
    {
        if (_gatehouse is not null)
        {
            await _gatehouse.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PolicyGatehouseCollection : ICollectionFixture<PolicyGatehouse>
{
    public const string Name = "Policy Gatehouse";
}
