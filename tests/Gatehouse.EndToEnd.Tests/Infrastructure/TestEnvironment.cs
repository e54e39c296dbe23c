using System.Net;
using System.Net.Sockets;
using Gatehouse.TestHelpers;
using Gatehouse.Tests.Shared;

namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Where things are: the repository, the host built with the same configuration as these tests, the fixtures, and the
/// Azurite given by <c>GATEHOUSE_TEST_STORAGE</c>. A missing variable or an unreachable emulator fails the test with
/// instructions; it never skips.
/// </summary>
public static class TestEnvironment
{
    public const string StorageVariable = TestAzurite.Variable;

    /// <summary>The folder holding Gatehouse.slnx (<see cref="RepositoryPaths.Root"/>, kept under this name for the many tests that use it).</summary>
    public static string RepoRoot => RepositoryPaths.Root;

    /// <summary>Debug or Release: the configuration these tests (and so the host, via the project reference) were built with.</summary>
    public static string Configuration => Metadata("GatehouseConfiguration");

    public static string TargetFramework => Metadata("GatehouseTargetFramework");

    public static string HostDll => Path.Combine(RepositoryPaths.BuildOutput("Gatehouse.Host", Configuration, TargetFramework), "Gatehouse.Host.dll");

    public static string CliDll => Path.Combine(RepositoryPaths.BuildOutput("Gatehouse.Cli", Configuration, TargetFramework), "gatehouse.dll");

    public static string PyPIFixtures => Path.Combine(RepositoryPaths.Fixtures, "pypi");

    /// <summary>Connection string of the test Azurite (a secret in general: never printed).</summary>
    public static string StorageConnectionString => TestAzurite.ConnectionString;

    /// <summary>The Python used to create venvs; <c>GATEHOUSE_TEST_PYTHON</c> overrides <c>python3</c>.</summary>
    public static string Python => Environment.GetEnvironmentVariable("GATEHOUSE_TEST_PYTHON") is { Length: > 0 } p ? p : "python3";

    /// <summary>
    /// Debian's own Python (3.11 with Debian's pip 23.0.1 in its venvs), which runs the real clients of
    /// <see cref="ClientsRoot"/>; <c>GATEHOUSE_TEST_DEBIAN_PYTHON</c> overrides <c>/usr/bin/python3</c>.
    /// </summary>
    public static string DebianPython => Environment.GetEnvironmentVariable("GATEHOUSE_TEST_DEBIAN_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";

    /// <summary>
    /// The real Python clients' sources (pip, huggingface_hub 1.x and 0.26.5, filelock): <c>GATEHOUSE_CLIENTS</c>, else
    /// <c>../shared/clients</c> beside the repository. Missing clients fail the test with instructions; they never skip it.
    /// </summary>
    public static string ClientsRoot
    {
        get
        {
            var root = Environment.GetEnvironmentVariable("GATEHOUSE_CLIENTS") is { Length: > 0 } c
                ? c
                : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "clients"));
            Assert.True(Directory.Exists(Path.Combine(root, "pip", "pip")) && Directory.Exists(Path.Combine(root, "huggingface_hub-1.x")),
                $"The real Python clients are not in {root}: set GATEHOUSE_CLIENTS to the folder holding pip/, huggingface_hub-1.x/, huggingface_hub-0.26.5/ and filelock/.");
            return root;
        }
    }

    /// <summary>The <c>PYTHONPATH</c> that makes <see cref="DebianPython"/> import huggingface_hub <paramref name="version"/> ("1.x" or "0.26.5"), filelock first.</summary>
    public static string HubClientPath(string version) =>
        string.Join(':', Path.Combine(ClientsRoot, "filelock"), Path.Combine(ClientsRoot, $"huggingface_hub-{version}"));

    /// <summary>A loopback TCP port nobody listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A short random suffix for project names and hub names, so runs against a reused Azurite never collide.</summary>
    public static string UniqueSuffix() => Guid.NewGuid().ToString("N")[..10];

    /// <summary>A fresh temporary folder; the caller deletes it.</summary>
    public static string NewTempDirectory(string purpose)
    {
        var path = Path.Combine(Path.GetTempPath(), $"gatehouse-e2e-{purpose}-{UniqueSuffix()}");
        Directory.CreateDirectory(path);
        return path;
    }

    public static void TryDeleteDirectory(string? path)
    {
        if (path is null)
        {
            return;
        }
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover temp folder must not fail a test.
        }
    }

    private static string Metadata(string key) => BuildMetadata.Read(typeof(TestEnvironment).Assembly, key);
}
