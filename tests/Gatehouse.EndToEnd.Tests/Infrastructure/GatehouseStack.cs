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
/// own Durable task hub in the test Azurite, and a read token. Dispose stops all of it.
/// </summary>
public sealed class GatehouseStack : IAsyncDisposable
{
    private readonly List<GatehouseHostProcess> _hosts = [];
    private readonly string _simulatorData;

    private GatehouseStack(string name, RunningSimulator simulator, string simulatorData, string token)
    {
        Name = name;
        Simulator = simulator;
        _simulatorData = simulatorData;
        Token = token;
        Sim = new SimulatorControl(simulator.BaseAddress);
        Storage = new StorageProbe(TestEnvironment.StorageConnectionString);
    }

    public string Name { get; }
    public RunningSimulator Simulator { get; }
    public SimulatorControl Sim { get; }
    public StorageProbe Storage { get; }

    /// <summary>A read-scope entitlement token (a secret: never printed).</summary>
    public string Token { get; }

    /// <summary>The host currently serving; after <see cref="RestartHostAsync"/>, the new one.</summary>
    public GatehouseHostProcess Host => _hosts[^1];

    /// <summary>Every host process started for this stack, oldest first.</summary>
    public IReadOnlyList<GatehouseHostProcess> Hosts => _hosts;

    public string HubName => Host.Settings.HubName;
    public Uri BaseAddress => Host.BaseAddress;

    /// <summary>The index URL pip gets: the token as the Basic-auth user name.</summary>
    public string PipIndexUrl => $"http://{Token}@{BaseAddress.Authority}/pypi/simple/";

    public static async Task<GatehouseStack> StartAsync(string name, Func<HostSettings, HostSettings>? configure = null)
    {
        var connectionString = TestEnvironment.StorageConnectionString; // fails clearly when Azurite is missing
        var simulatorData = TestEnvironment.NewTempDirectory($"sim-{name}");
        var simulator = await UpstreamSimulatorApp.StartAsync(new SimulatorOptions { FixturesPath = TestEnvironment.PyPIFixtures, DataPath = simulatorData });
        GatehouseStack? stack = null;
        try
        {
            var token = await CreateTokenAsync(connectionString, $"e2e-{name}");
            stack = new GatehouseStack(name, simulator, simulatorData, token);
            var settings = new HostSettings { Upstream = simulator.BaseAddress, HubName = NewHubName(name) };
            settings = configure?.Invoke(settings) ?? settings;
            stack._hosts.Add(await GatehouseHostProcess.StartAsync($"{name}-1", settings));
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

    /// <summary>Starts a new host process with the same settings: same hub, same storage, same port.</summary>
    public async Task<GatehouseHostProcess> RestartHostAsync()
    {
        Assert.True(Host.HasExited, "RestartHostAsync expects the current host to have exited (kill it first).");
        var host = await GatehouseHostProcess.StartAsync($"{Name}-{_hosts.Count + 1}", Host.Settings);
        _hosts.Add(host);
        return host;
    }

    /// <summary>A client for the current host with the token as Basic auth, no redirects, no decompression.</summary>
    public HttpClient CreateClient(bool authenticated = true)
    {
        var client = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        })
        {
            BaseAddress = BaseAddress,
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

    /// <summary>Durable hub names are 3-45 letters and digits, starting with a letter.</summary>
    private static string NewHubName(string purpose)
    {
        var letters = new string(purpose.Where(char.IsAsciiLetter).Take(12).ToArray());
        return ("e2e" + letters + TestEnvironment.UniqueSuffix())[..Math.Min(45, 3 + letters.Length + 10)];
    }

    private static async Task<string> CreateTokenAsync(string connectionString, string name)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = connectionString })
            .Build();
        var storage = GatehouseStorage.FromConfiguration(configuration);
        await storage.EnsureCreatedAsync(CancellationToken.None);
        using var cache = new MemoryCache(new MemoryCacheOptions());
        var created = await new EntitlementTokenService(storage, TimeProvider.System, cache).CreateAsync(name, TokenScope.Read, CancellationToken.None);
        return created.Secret;
    }
}
