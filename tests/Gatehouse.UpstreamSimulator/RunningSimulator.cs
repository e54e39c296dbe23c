using Gatehouse.UpstreamSimulator.Catalog;
using Gatehouse.UpstreamSimulator.Oci;

namespace Gatehouse.UpstreamSimulator;

/// <summary>A started simulator; dispose to stop it (and delete its temp data folder if it made one).</summary>
public sealed class RunningSimulator : IAsyncDisposable
{
    private readonly WebApplication _app;

    internal RunningSimulator(WebApplication app, Uri baseAddress, SimulatorState state)
    {
        _app = app;
        BaseAddress = baseAddress;
        State = state;
    }

    /// <summary>Root of the simulator, with a trailing slash (e.g. http://127.0.0.1:41234/).</summary>
    public Uri BaseAddress { get; }

    public SimulatorState State { get; }

    /// <summary>The container registry's images, counters and switches (<c>/_sim/oci/</c> over HTTP).</summary>
    public OciState Oci => _app.Services.GetRequiredService<OciState>();

    /// <summary>The index URL to give pip or the proxy: <c>&lt;base&gt;/simple/</c>.</summary>
    public Uri SimpleIndexUrl => new(BaseAddress, "simple/");

    /// <summary>Absolute download URL of a file the simulator serves.</summary>
    public Uri FileUrl(string filename) =>
        new(BaseAddress, (State.FindFile(filename) ?? throw new KeyNotFoundException($"No file named '{filename}'.")).UrlPath.TrimStart('/'));

    /// <summary>All files the simulator currently serves.</summary>
    public IReadOnlyCollection<DistributionFile> Files => State.Catalog.ByFilename.Values.ToList();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
