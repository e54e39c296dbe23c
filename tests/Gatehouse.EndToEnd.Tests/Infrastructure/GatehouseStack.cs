using System.Net.Http.Headers;
using System.Text;
using Gatehouse.Storage;
using Gatehouse.Tokens;
using Gatehouse.UpstreamSimulator;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Configuration;

namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One Gatehouse as a user runs it: the upstream simulator (in process), the standalone host (a child process) on its
/// own Durable task hub in the test Azurite, and a read token. Dispose stops all of it. A stack may run several hosts
/// (replicas: one storage, one task hub, one upstream, each its own port), as a scaled-out app does.
/// </summary>
public sealed class GatehouseStack : IAsyncDisposable
{
    private readonly List<GatehouseHostProcess> _hosts = [];
    private readonly List<GatehouseHostProcess> _replicas = [];
    private readonly string _simulatorData;
    private readonly string _storageConnectionString;

    private GatehouseStack(string name, RunningSimulator simulator, string simulatorData, string token, string storageConnectionString)
    {
        Name = name;
        Simulator = simulator;
        _simulatorData = simulatorData;
        _storageConnectionString = storageConnectionString;
        Token = token;
        Sim = new SimulatorControl(simulator.BaseAddress);
        Storage = new StorageProbe(storageConnectionString);
    }

    public string Name { get; }
    public RunningSimulator Simulator { get; }
    public SimulatorControl Sim { get; }
    public StorageProbe Storage { get; }

    /// <summary>A read-scope entitlement token (a secret: never printed).</summary>
    public string Token { get; }

    /// <summary>The host currently serving (the first replica); after <see cref="RestartHostAsync"/>, the new one.</summary>
    public GatehouseHostProcess Host => _replicas[0];

    /// <summary>Every host process started for this stack, oldest first.</summary>
    public IReadOnlyList<GatehouseHostProcess> Hosts => _hosts;

    /// <summary>The current process of each replica, in the order they were added; a restart replaces its replica's entry.</summary>
    public IReadOnlyList<GatehouseHostProcess> Replicas => _replicas;

    public string HubName => Host.Settings.HubName;
    public Uri BaseAddress => Host.BaseAddress;

    /// <summary>The index URL pip gets: the token as the Basic-auth user name.</summary>
    public string PipIndexUrl => $"http://{Token}@{BaseAddress.Authority}/pypi/simple/";

    /// <summary>
    /// Starts the simulator and <paramref name="hosts"/> host processes on one task hub, one after the other. Storage is
    /// the test Azurite unless <paramref name="storageConnectionString"/> names another (e.g. a <see cref="PrivateAzurite"/>).
    /// </summary>
    public static async Task<GatehouseStack> StartAsync(string name, Func<HostSettings, HostSettings>? configure = null, int hosts = 1,
        string? storageConnectionString = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hosts, 1);
        var connectionString = storageConnectionString ?? TestEnvironment.StorageConnectionString; // fails clearly when Azurite is missing
        var simulatorData = TestEnvironment.NewTempDirectory($"sim-{name}");
        var simulator = await UpstreamSimulatorApp.StartAsync(new SimulatorOptions { FixturesPath = TestEnvironment.PyPIFixtures, DataPath = simulatorData });
        GatehouseStack? stack = null;
        try
        {
            var token = await CreateTokenAsync(connectionString, $"e2e-{name}");
            stack = new GatehouseStack(name, simulator, simulatorData, token, connectionString);
            var settings = new HostSettings { Upstream = simulator.BaseAddress, HubName = NewHubName(name) };
            settings = configure?.Invoke(settings) ?? settings;
            stack.Started(await GatehouseHostProcess.StartAsync($"{name}-1", settings, connectionString), replica: null);
            for (var i = 1; i < hosts; i++)
            {
                await stack.AddHostAsync();
            }
            return stack;
        }
        catch
        {
            if (stack is not null)
            {
                await stack.DisposeAsync();
            }
            else
            {
                await simulator.DisposeAsync();
                TestEnvironment.TryDeleteDirectory(simulatorData);
            }
            throw;
        }
    }

    /// <summary>Starts a replica of the current host: same settings, hub, storage and upstream, on a port of its own.</summary>
    public async Task<GatehouseHostProcess> AddHostAsync()
    {
        var host = await GatehouseHostProcess.StartAsync($"{Name}-{_hosts.Count + 1}", Host.Settings with { Port = 0 }, _storageConnectionString);
        Started(host, replica: null);
        return host;
    }

    /// <summary>Starts a new process for a replica (the first by default) with its settings: same hub, same storage, same port.</summary>
    public async Task<GatehouseHostProcess> RestartHostAsync(int replica = 0)
    {
        var current = _replicas[replica];
        Assert.True(current.HasExited, "RestartHostAsync expects the current host to have exited (kill it first).");
        var host = await GatehouseHostProcess.StartAsync($"{Name}-{_hosts.Count + 1}", current.Settings, _storageConnectionString);
        Started(host, replica);
        return host;
    }

    /// <summary>A client for a replica (the first by default) with the token as Basic auth, no redirects, no decompression.</summary>
    public HttpClient CreateClient(bool authenticated = true, int replica = 0)
    {
        var client = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        })
        {
            BaseAddress = _replicas[replica].BaseAddress, // a restarted replica keeps its port, so the client stays valid
            Timeout = TimeSpan.FromMinutes(3),
        };
        if (authenticated)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Token + ":")));
        }
        return client;
    }

    /// <summary>A client as Hugging Face clients authenticate: the token as a Bearer credential.</summary>
    public HttpClient CreateHfClient()
    {
        var client = CreateClient(authenticated: false);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return client;
    }

    /// <summary>The Gatehouse URL (relative to the host) of a file, as its project page links it.</summary>
    public static string FileUrl(string project, string sha256, string filename) => $"pypi/files/{project}/{sha256}/{Uri.EscapeDataString(filename)}";

    /// <summary>Lines containing <paramref name="contains"/> in the output of every host process of this stack, dead or alive.</summary>
    public int CountLogLines(string contains) => _hosts.Sum(h => h.CountLogLines(contains));

    /// <summary>Writes the tail of every host's output to the test output (used when a test fails).</summary>
    public void WriteHostLogs(ITestOutputHelper output, int lastLines = 400)
    {
        foreach (var host in _hosts)
        {
            output.WriteLine($"===== Gatehouse host '{host.Name}' (pid {host.ProcessId}, {host.BaseAddress}, hub {host.Settings.HubName}) =====");
            output.WriteLine(host.Log(lastLines));
        }
    }

    /// <summary>Runs a test body; when it throws, the hosts' output goes to the test output before the failure.</summary>
    public async Task RunAsync(ITestOutputHelper output, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch
        {
            WriteHostLogs(output);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }
        Sim.Dispose();
        await Simulator.DisposeAsync();
        TestEnvironment.TryDeleteDirectory(_simulatorData);
    }

    private void Started(GatehouseHostProcess host, int? replica)
    {
        _hosts.Add(host);
        if (replica is { } index)
        {
            _replicas[index] = host;
        }
        else
        {
            _replicas.Add(host);
        }
    }

    /// <summary>Durable hub names are 3-45 letters and digits, starting with a letter.</summary>
    private static string NewHubName(string purpose)
    {
        var letters = new string(purpose.Where(char.IsAsciiLetter).Take(12).ToArray());
        return ("e2e" + letters + TestEnvironment.UniqueSuffix())[..Math.Min(45, 3 + letters.Length + 10)];
    }

    /// <summary>A client with a new admin token as Bearer, made with the product's token service straight in storage (as <c>token create --storage</c> does).</summary>
    public async Task<HttpClient> CreateAdminClientAsync(string name = "e2e admin")
    {
        var client = CreateClient(authenticated: false);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await CreateTokenAsync(_storageConnectionString, name, TokenScope.Admin));
        return client;
    }

    /// <summary>A token of <paramref name="scope"/> made with the product's token service, straight in storage.</summary>
    public static async Task<string> CreateTokenAsync(string connectionString, string name, TokenScope scope = TokenScope.Read, IReadOnlyList<string>? resources = null)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = connectionString })
            .Build();
        var storage = GatehouseStorage.FromConfiguration(configuration);
        await storage.EnsureCreatedAsync(CancellationToken.None);
        using var cache = new MemoryCache(new MemoryCacheOptions());
        var service = EntitlementTokenService.ForStorage(storage, TimeProvider.System, cache);
        var created = resources is null
            ? await service.CreateAsync(name, scope, CancellationToken.None)
            : await service.CreateAsync(name, [.. TokenScopes.Split(scope).Select(s => new TokenGrant(s, resources))], TokenLimits.None, "e2e", CancellationToken.None);
        return created.Secret;
    }
}
