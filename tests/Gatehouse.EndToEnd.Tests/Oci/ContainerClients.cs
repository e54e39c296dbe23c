using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests.Oci;

/// <summary>An image the simulator's registry serves, as its <c>/_sim/oci/images</c> lists it.</summary>
public sealed record SimulatedImage(string Name, string Tag, string Digest, string MediaType, string? ConfigDigest, IReadOnlyList<(string Digest, long Size)> Layers);

/// <summary>
/// Debian's skopeo and podman against a Gatehouse host: the entitlement token goes in an auth file (never on a command
/// line), plain http with TLS verification off (the host listens on loopback http), podman rootful with the vfs driver
/// in a storage folder of its own.
/// </summary>
public sealed class ContainerClients : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);

    private readonly string _directory = TestEnvironment.NewTempDirectory("oci-clients");
    private string? _runRoot;

    public ContainerClients(Uri gatehouse, string token)
    {
        Registry = gatehouse.Authority;
        Token = token;
        AuthFile = Path.Combine(_directory, "auth.json");
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes("gatehouse:" + token));
        File.WriteAllText(AuthFile, JsonSerializer.Serialize(new { auths = new Dictionary<string, object> { [Registry] = new { auth } } }));
    }

    /// <summary>host:port of Gatehouse, as image references name it.</summary>
    public string Registry { get; }

    public string AuthFile { get; }

    /// <summary>The entitlement token the auth file holds.</summary>
    public string Token { get; }

    public string Folder(string name) => Directory.CreateDirectory(Path.Combine(_directory, name)).FullName;

    public Task<ProcessResult> SkopeoAsync(params string[] args) =>
        PythonVenv.RunAsync("skopeo", [args[0], "--authfile", AuthFile, .. args[1..]], null, Timeout);

    /// <summary>podman as root with its own storage: <c>--root</c>, <c>--runroot</c> and the vfs driver, no registries.conf searches.</summary>
    public Task<ProcessResult> PodmanAsync(params string[] args) => Podman(AuthFile, args);

    /// <summary>
    /// <c>podman login</c> or <c>skopeo login</c> to Gatehouse with any user name and the entitlement token as the password,
    /// given on stdin (<c>--password-stdin</c>), into <paramref name="authFile"/>.
    /// </summary>
    public Task<ProcessResult> LoginAsync(string tool, string authFile, string user, string password)
    {
        string[] args = ["login", "--tls-verify=false", "--authfile", authFile, "--username", user, "--password-stdin", Registry];
        return tool == "podman" ? Podman(authFile, args, password + "\n") : PythonVenv.RunAsync(tool, args, null, Timeout, password + "\n");
    }

    /// <summary>podman with the logins of <paramref name="authFile"/> instead of the fixture's.</summary>
    public Task<ProcessResult> PodmanWithAuthFileAsync(string authFile, params string[] args) => Podman(authFile, args);

    /// <summary>podman with <paramref name="registriesConf"/> (TOML, containers-registries.conf(5)) added after the fixture's own line.</summary>
    public Task<ProcessResult> PodmanWithRegistriesAsync(string registriesConf, params string[] args) => Podman(AuthFile, args, registriesConf: registriesConf);

    private Task<ProcessResult> Podman(string authFile, string[] args, string? standardInput = null, string? registriesConf = null)
    {
        var root = Folder("podman-root");
        // podman refuses a run root longer than 50 characters.
        var run = _runRoot ??= Directory.CreateDirectory(Path.Combine("/tmp", "ghp-" + TestEnvironment.UniqueSuffix())).FullName;
        var registries = Path.Combine(_directory, $"registries-{TestEnvironment.UniqueSuffix()}.conf");
        File.WriteAllText(registries, "unqualified-search-registries = []\n" + registriesConf);
        return PythonVenv.RunAsync("podman", ["--root", root, "--runroot", run, "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none",
            .. args], new Dictionary<string, string> { ["REGISTRY_AUTH_FILE"] = authFile, ["CONTAINERS_REGISTRIES_CONF"] = registries }, Timeout, standardInput);
    }

    public void Dispose()
    {
        TestEnvironment.TryDeleteDirectory(_directory);
        if (_runRoot is not null)
        {
            TestEnvironment.TryDeleteDirectory(_runRoot);
        }
    }

    /// <summary>The images the simulator serves.</summary>
    public static async Task<IReadOnlyList<SimulatedImage>> ImagesAsync(Uri simulator)
    {
        using var http = new HttpClient { BaseAddress = simulator };
        var list = await http.GetFromJsonAsync<JsonElement>("_sim/oci/images");
        var images = list.ValueKind == JsonValueKind.Array ? list : list.GetProperty("images");
        return [.. images.EnumerateArray().Select(Image)];
    }

    /// <summary>A synthetic image the simulator makes now (random layers seeded by its name and tag).</summary>
    public static async Task<SimulatedImage> SyntheticAsync(Uri simulator, string name, string tag)
    {
        using var http = new HttpClient { BaseAddress = simulator, Timeout = TimeSpan.FromMinutes(3) };
        using var response = await http.PostAsync($"_sim/oci/synthetic?name={Uri.EscapeDataString(name)}&tag={Uri.EscapeDataString(tag)}", null);
        response.EnsureSuccessStatusCode();
        return Image(await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    private static SimulatedImage Image(JsonElement i) => new(
        i.GetProperty("name").GetString()!, i.GetProperty("tag").GetString()!, i.GetProperty("digest").GetString()!, i.GetProperty("mediaType").GetString()!,
        i.TryGetProperty("configDigest", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null,
        i.TryGetProperty("layers", out var layers) && layers.ValueKind == JsonValueKind.Array
            ? [.. layers.EnumerateArray().Select(l => (l.GetProperty("digest").GetString()!, l.GetProperty("size").GetInt64()))]
            : []);

    /// <summary>How many times the simulator sent each blob's bytes (GET, not HEAD), by digest.</summary>
    public static async Task<IReadOnlyDictionary<string, int>> BlobFetchesAsync(Uri simulator)
    {
        using var http = new HttpClient { BaseAddress = simulator };
        var stats = await http.GetFromJsonAsync<JsonElement>("_sim/oci/stats");
        var blobs = stats.GetProperty("blobGets");
        return blobs.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
    }

    public static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
