using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Host.Durable;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Gatehouse.Host.Tests.Durable;

/// <summary>
/// A real <see cref="WebApplication"/> on Kestrel with the durable backend on Azurite: the main endpoint on a free
/// 127.0.0.1 port via <c>--urls</c> (HTTP/1.1), the gRPC sidecar on another free loopback port, one task hub per test.
/// </summary>
internal sealed class DurableTestApp : IAsyncDisposable
{
    public const string PingPath = "/ping";
    public const string PingResponse = "pong";

    /// <summary>Short leases and polling so a fresh task hub processes its first message within a few seconds.</summary>
    private static readonly Dictionary<string, string?> FastStart = new()
    {
        [DurableBackendOptions.PartitionCountKey] = "2",
        [DurableBackendOptions.LeaseIntervalKey] = "5",
        [DurableBackendOptions.LeaseRenewIntervalKey] = "2",
        [DurableBackendOptions.LeaseAcquireIntervalKey] = "1",
        [DurableBackendOptions.MaxQueuePollingIntervalKey] = "1",
    };

    private DurableTestApp(WebApplication app, string hubName, TimeSpan startup)
    {
        App = app;
        HubName = hubName;
        Startup = startup;
        Client = app.Services.GetRequiredService<DurableTaskClient>();
        Sidecar = app.Services.GetRequiredService<DurableSidecarEndpoint>();
        MainUrl = app.Urls.Select(url => new Uri(url)).Single(url => url.Port != Sidecar.Port);
    }

    public WebApplication App { get; }

    public string HubName { get; }

    public TimeSpan Startup { get; }

    public DurableTaskClient Client { get; }

    public DurableSidecarEndpoint Sidecar { get; }

    /// <summary>The application's own endpoint, from <c>--urls http://127.0.0.1:0</c> unless the settings say otherwise.</summary>
    public Uri MainUrl { get; }

    public static async Task<DurableTestApp> StartAsync(
        AzuriteStorage storage,
        ITestOutputHelper output,
        string purpose,
        Action<DurableTaskRegistry> registerTasks,
        IReadOnlyDictionary<string, string?>? settings = null,
        string? hubName = null)
    {
        hubName ??= AzuriteStorage.NewTaskHubName(purpose);
        output.WriteLine($"Task hub: {hubName}");

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = ["--urls", "http://127.0.0.1:0"],
            EnvironmentName = Environments.Development, // validates the DI graph on Build
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(FastStart)
        {
            [DurableBackendOptions.StorageConnectionKey] = storage.ConnectionString,
            [DurableBackendOptions.HubNameKey] = hubName,
            [DurableBackendOptions.SidecarPortKey] = "0",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new TestOutputLoggerProvider(output));

        builder.AddGatehouseDurable(registerTasks);
        var app = builder.Build();
        app.MapGet(PingPath, (HttpContext context) => $"{PingResponse} {context.Request.Protocol}");
        app.MapGatehouseDurable();

        var started = Stopwatch.GetTimestamp();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await app.StartAsync(timeout.Token);
        var testApp = new DurableTestApp(app, hubName, Stopwatch.GetElapsedTime(started));
        output.WriteLine($"Started in {testApp.Startup.TotalMilliseconds:F0} ms: main {testApp.MainUrl}, sidecar {testApp.Sidecar.Address}");
        return testApp;
    }

    /// <summary>A lower-case SHA-256 hex instance id, as the product uses for content hashes.</summary>
    public static string NewInstanceId(string seed) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}/{Guid.NewGuid():N}")));

    /// <summary>
    /// Polls the instance every 100 ms until it is terminal (the provider's own wait polls every 2 s, which would
    /// dominate these tests' run time).
    /// </summary>
    public async Task<OrchestrationMetadata> WaitForCompletionAsync(string instanceId, TimeSpan? timeout = null)
    {
        using var cancellation = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var instance = await Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, cancellation.Token);
            if (instance is { IsCompleted: true })
            {
                return instance;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellation.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await App.StopAsync(timeout.Token);
        }
        finally
        {
            await App.DisposeAsync();
        }
    }
}
