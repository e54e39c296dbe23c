namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One pip of the matrix the end-to-end tests run: Debian 12's own pip 23.0.1 (in a venv of <c>/usr/bin/python3</c>;
/// pip 22.3-23.0 crash on a JSON index that carries <c>dist-info-metadata</c>, PEP 714), the pip of the default
/// <c>python3</c>, and pip from source (HEAD, put first on <c>PYTHONPATH</c> in a Debian venv).
/// </summary>
public sealed record PipUnderTest(string Name, string Python, string? SourcePath)
{
    public const string Debian = "debian-23.0.1";
    public const string Default = "python3";
    public const string Source = "source";

    public static PipUnderTest For(string name) => name switch
    {
        Debian => new(name, TestEnvironment.DebianPython, null),
        Default => new(name, TestEnvironment.Python, null),
        Source => new(name, TestEnvironment.DebianPython, Path.Combine(TestEnvironment.ClientsRoot, "pip")),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a pip of the matrix"),
    };

    /// <summary>A fresh venv whose <c>python -m pip</c> is this pip; its <c>pip --version</c> proves which one it is.</summary>
    public async Task<PythonVenv> CreateVenvAsync(ITestOutputHelper output)
    {
        var venv = await PythonVenv.CreateAsync(output, Python,
            SourcePath is null ? null : new Dictionary<string, string> { ["PYTHONPATH"] = SourcePath });
        var version = await venv.PipAsync("--version");
        output.WriteLine($"{Name}: {version.StandardOutput.Trim()}");
        Assert.True(version.ExitCode == 0, version.ToString());
        var expectedHome = SourcePath ?? venv.Root;
        Assert.Contains($" from {expectedHome}", version.StandardOutput, StringComparison.Ordinal);
        if (Name == Debian)
        {
            Assert.StartsWith("pip 23.0.1 ", version.StandardOutput, StringComparison.Ordinal);
        }
        return venv;
    }
}
