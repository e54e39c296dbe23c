namespace Gatehouse.UpstreamSimulator;

/// <summary>Where the simulator reads fixtures, listens, and writes synthetic files.</summary>
public sealed class SimulatorOptions
{
    /// <summary>Folder holding <c>index.json</c> and the fixture files (tests/fixtures/pypi).</summary>
    public string FixturesPath { get; set; } = string.Empty;

    /// <summary>Kestrel URLs; port 0 picks a free loopback port.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:0";

    /// <summary>Folder for synthetic wheels; null means a fresh temp folder deleted at shutdown.</summary>
    public string? DataPath { get; set; }

    /// <summary>Clock for the upload time of synthetic files.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
