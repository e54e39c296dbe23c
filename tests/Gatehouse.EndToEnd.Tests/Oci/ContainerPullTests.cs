using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.EndToEnd.Tests.Infrastructure;
using Gatehouse.Oci.Auth;
using Gatehouse.Storage;
using Gatehouse.Tokens;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.EndToEnd.Tests.Oci;

/// <summary>
/// Container images through Gatehouse with Debian's skopeo and podman, the simulator playing Docker Hub (token flow,
/// 307 to a blob CDN): the clean image arrives byte for byte, the refused ones fail with Gatehouse's reason in the
/// client's own output, a file deleted by a later layer does not count, and each platform of an index is judged alone.
/// </summary>
[Collection(Collection)]
public sealed class ContainerPullTests(ContainerPullTests.Fixture fixture, ITestOutputHelper output)
{
    /// <summary>The container tests share one host (<see cref="Fixture"/>).</summary>
    public const string Collection = "Containers";

    /// <summary>One host with the OSV fixture loaded, an oci:read token and the clients' auth file.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        private GatehouseStack? _stack;

        public GatehouseStack Stack => _stack ?? throw new InvalidOperationException("The stack did not start.");

        public ContainerClients Clients { get; private set; } = null!;

        public IReadOnlyList<SimulatedImage> Images { get; private set; } = [];

        public string OciToken { get; private set; } = "";

        public async Task InitializeAsync()
        {
            _stack = await GatehouseStack.StartAsync("oci", settings => settings with { OsvFixture = true });
            OciToken = await GatehouseStack.CreateTokenAsync(TestEnvironment.StorageConnectionString, "oci-e2e", TokenScope.OciRead);
            Clients = new ContainerClients(Stack.BaseAddress, OciToken);
            Images = await ContainerClients.ImagesAsync(Stack.Simulator.BaseAddress);
        }

        public SimulatedImage Image(string name, string tag = "1.0") => Images.First(i => i.Name == name && i.Tag == tag);

        public async Task DisposeAsync()
        {
            Clients?.Dispose();
            if (_stack is not null)
            {
                await _stack.DisposeAsync();
            }
        }
    }

    private GatehouseStack Stack => fixture.Stack;

    private ContainerClients Clients => fixture.Clients;

    private string Reference(string name, string tag = "1.0") => $"docker://{Clients.Registry}/{name}:{tag}";

    [Fact]
    public async Task Skopeo_inspects_and_copies_the_clean_image_and_every_layer_arrives_byte_for_byte()
    {
        await Stack.RunAsync(output, async () =>
        {
            var image = fixture.Image("library/clean");

            var inspect = await Clients.SkopeoAsync("inspect", "--tls-verify=false", Reference("library/clean"));
            output.WriteLine(inspect.ToString());
            Assert.True(inspect.ExitCode == 0, inspect.ToString());
            using var inspected = JsonDocument.Parse(inspect.StandardOutput);
            Assert.Equal(image.Digest, inspected.RootElement.GetProperty("Digest").GetString());
            Assert.Equal([.. image.Layers.Select(l => l.Digest)], inspected.RootElement.GetProperty("Layers").EnumerateArray().Select(l => l.GetString()!).ToArray());

            var layout = Clients.Folder("clean-layout");
            var copy = await Clients.SkopeoAsync("copy", "--src-tls-verify=false", Reference("library/clean"), $"oci:{layout}:clean");
            output.WriteLine(copy.ToString());
            Assert.True(copy.ExitCode == 0, copy.ToString());
            foreach (var (digest, size) in image.Layers)
            {
                var path = Path.Combine(layout, "blobs", "sha256", digest["sha256:".Length..]);
                Assert.True(File.Exists(path), $"layer {digest} is not in the OCI layout");
                var bytes = await File.ReadAllBytesAsync(path);
                Assert.Equal(size, bytes.LongLength);
                Assert.Equal(digest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)));
            }
        });
    }

    [Fact]
    public async Task Skopeo_is_refused_the_image_with_a_malicious_pickle_and_prints_Gatehouses_reason()
    {
        await Stack.RunAsync(output, async () =>
        {
            var inspect = await Clients.SkopeoAsync("inspect", "--tls-verify=false", Reference("library/evil-pickle"));
            output.WriteLine(inspect.ToString());

            Assert.NotEqual(0, inspect.ExitCode);
            Assert.Contains("Blocked by Gatehouse: ", inspect.StandardError, StringComparison.Ordinal);
            Assert.Contains("models/model.pkl", inspect.StandardError, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Podman_pulls_the_clean_image_and_is_refused_the_malicious_one_with_the_reason()
    {
        await Stack.RunAsync(output, async () =>
        {
            var clean = await Clients.PodmanAsync("pull", "--tls-verify=false", $"{Clients.Registry}/library/clean:1.0");
            output.WriteLine(clean.ToString());
            Assert.True(clean.ExitCode == 0, clean.ToString());
            var images = await Clients.PodmanAsync("images", "--format", "{{.Repository}}:{{.Tag}} {{.Digest}}");
            Assert.Contains($"{Clients.Registry}/library/clean:1.0 {fixture.Image("library/clean").Digest}", images.StandardOutput, StringComparison.Ordinal);

            var evil = await Clients.PodmanAsync("pull", "--tls-verify=false", $"{Clients.Registry}/library/evil-pickle:1.0");
            output.WriteLine(evil.ToString());
            Assert.NotEqual(0, evil.ExitCode);
            Assert.Contains("Blocked by Gatehouse: ", evil.StandardError, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task The_image_with_a_vulnerable_python_package_is_judged_by_the_policy_with_the_package_in_the_reason()
    {
        await Stack.RunAsync(output, async () =>
        {
            var inspect = await Clients.SkopeoAsync("inspect", "--tls-verify=false", Reference("library/vuln-py"));
            output.WriteLine(inspect.ToString());

            // The default policy blocks a known high or critical advisory (vulnerable-high).
            Assert.NotEqual(0, inspect.ExitCode);
            Assert.Contains("Blocked by Gatehouse: vulnerable-high", inspect.StandardError, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task A_malicious_file_deleted_by_a_later_layer_does_not_count_against_the_image()
    {
        await Stack.RunAsync(output, async () =>
        {
            var layout = Clients.Folder("whiteout-layout");
            var copy = await Clients.SkopeoAsync("copy", "--src-tls-verify=false", Reference("library/whiteout"), $"oci:{layout}:whiteout");
            output.WriteLine(copy.ToString());

            Assert.True(copy.ExitCode == 0, copy.ToString());
        });
    }

    [Fact]
    public async Task Each_platform_of_a_multi_arch_index_is_judged_on_its_own()
    {
        await Stack.RunAsync(output, async () =>
        {
            var amd64 = await Clients.SkopeoAsync("inspect", "--tls-verify=false", "--override-os", "linux", "--override-arch", "amd64", Reference("library/multiarch"));
            var arm64 = await Clients.SkopeoAsync("inspect", "--tls-verify=false", "--override-os", "linux", "--override-arch", "arm64", Reference("library/multiarch"));
            output.WriteLine(amd64.ToString());
            output.WriteLine(arm64.ToString());

            Assert.True(amd64.ExitCode == 0, amd64.ToString());
            Assert.NotEqual(0, arm64.ExitCode);
            Assert.Contains("Blocked by Gatehouse: ", arm64.StandardError, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Without_a_token_with_a_bad_one_or_out_of_its_scope_a_pull_is_refused_and_registry_tokens_are_scoped_and_short_lived()
    {
        await Stack.RunAsync(output, async () =>
        {
            using var anonymous = Stack.CreateClient(authenticated: false);
            var challenge = await anonymous.GetAsync("v2/");
            Assert.Equal(HttpStatusCode.Unauthorized, challenge.StatusCode);
            var bearer = Assert.Single(challenge.Headers.WwwAuthenticate);
            Assert.Equal("Bearer", bearer.Scheme);
            Assert.Contains("realm=\"", bearer.Parameter, StringComparison.Ordinal);
            Assert.Contains("/oci/token\"", bearer.Parameter, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("v2/library/clean/manifests/1.0")).StatusCode);

            using var bad = Stack.CreateClient(authenticated: false);
            bad.DefaultRequestHeaders.Authorization = Basic("ght_000000000000_" + new string('0', 48));
            Assert.Equal(HttpStatusCode.Unauthorized, (await bad.GetAsync("v2/library/clean/manifests/1.0")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await bad.GetAsync("oci/token?service=gatehouse&scope=repository:library/clean:pull")).StatusCode);

            // A token limited to library/clean: its registry token holds only that scope, and other repositories are refused.
            var limited = await GatehouseStack.CreateTokenAsync(TestEnvironment.StorageConnectionString, "oci-limited", TokenScope.OciRead, ["library/clean"]);
            using var scoped = Stack.CreateClient(authenticated: false);
            scoped.DefaultRequestHeaders.Authorization = Basic(limited);
            var issued = await scoped.GetAsync("oci/token?service=gatehouse&scope=repository:library/clean:pull&scope=repository:library/evil-pickle:pull");
            Assert.Equal(HttpStatusCode.OK, issued.StatusCode);
            using var answer = JsonDocument.Parse(await issued.Content.ReadAsStringAsync());
            var token = answer.RootElement.GetProperty("token").GetString()!;
            var lifetime = answer.RootElement.GetProperty("expires_in").GetInt32();
            Assert.InRange(lifetime, 1, 3600);
            var claims = JsonDocument.Parse(Base64Url(token.Split('.')[1])).RootElement;
            var access = claims.GetProperty("access").EnumerateArray().Select(a => a.GetProperty("name").GetString()).ToList();
            Assert.Equal(["library/clean"], access);
            Assert.Equal(lifetime, claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64());

            using var withBearer = Stack.CreateClient(authenticated: false);
            withBearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            Assert.Equal(HttpStatusCode.OK, (await withBearer.GetAsync("v2/library/clean/tags/list")).StatusCode);
            var outOfScope = await withBearer.GetAsync("v2/library/evil-pickle/manifests/1.0");
            Assert.True(outOfScope.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, $"out of scope: {outOfScope.StatusCode}");
            var outOfScopeBasic = await scoped.GetAsync("v2/library/evil-pickle/manifests/1.0");
            Assert.True(outOfScopeBasic.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, $"out of scope (Basic): {outOfScopeBasic.StatusCode}");

            // A tampered signature is refused.
            var parts = token.Split('.');
            var forged = $"{parts[0]}.{parts[1]}.{(parts[2][0] == 'A' ? 'B' : 'A')}{parts[2][1..]}";
            withBearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", forged);
            Assert.Equal(HttpStatusCode.Unauthorized, (await withBearer.GetAsync("v2/library/clean/tags/list")).StatusCode);
        });
    }

    [Fact]
    public async Task Podman_with_docker_io_remapped_to_Gatehouse_pulls_through_it_and_a_mirror_entry_alone_falls_through_to_docker_hub()
    {
        await Stack.RunAsync(output, async () =>
        {
            // The recommended setting: docker.io's location is Gatehouse, so docker.io/library/… has nowhere else to go.
            var remapped = $"[[registry]]\nprefix = \"docker.io\"\nlocation = \"{Clients.Registry}\"\ninsecure = true\n";
            var clean = await Clients.PodmanWithRegistriesAsync(remapped, "pull", "docker.io/library/clean:1.0");
            output.WriteLine(clean.ToString());
            Assert.True(clean.ExitCode == 0, clean.ToString());
            var evil = await Clients.PodmanWithRegistriesAsync(remapped, "pull", "docker.io/library/evil-pickle:1.0");
            output.WriteLine(evil.ToString());
            Assert.NotEqual(0, evil.ExitCode);
            Assert.Contains("denied: Blocked by Gatehouse: pickle.dangerous-global", evil.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("registry-1.docker.io", evil.StandardError, StringComparison.Ordinal);

            // A [[registry.mirror]] is tried first and, when it refuses, docker.io itself: fail open, unless egress is blocked.
            var mirrored = $"[[registry]]\nlocation = \"docker.io\"\n[[registry.mirror]]\nlocation = \"{Clients.Registry}\"\ninsecure = true\n";
            var fellThrough = await Clients.PodmanWithRegistriesAsync(mirrored, "pull", "docker.io/library/evil-pickle:1.0");
            output.WriteLine(fellThrough.ToString());
            Assert.NotEqual(0, fellThrough.ExitCode);
            Assert.Contains("Blocked by Gatehouse", fellThrough.StandardError, StringComparison.Ordinal);
            Assert.Contains("registry-1.docker.io", fellThrough.StandardError, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Podman_login_and_skopeo_login_take_any_user_name_with_the_entitlement_token_and_their_stored_login_pulls()
    {
        await Stack.RunAsync(output, async () =>
        {
            var folder = Clients.Folder("logins");

            // A wrong password: the token endpoint's 401 fails the login (podman words it as a bad password) and nothing is stored.
            var refusedFile = Path.Combine(folder, "refused.json");
            var refused = await Clients.LoginAsync("podman", refusedFile, "anyone", "ght_000000000000_" + new string('0', 48));
            output.WriteLine(refused.ToString());
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("invalid username/password", refused.StandardError, StringComparison.Ordinal);
            Assert.False(File.Exists(refusedFile) && File.ReadAllText(refusedFile).Contains(Clients.Registry, StringComparison.Ordinal), "a refused login was stored");

            // podman login: any user name, the entitlement token on stdin; the stored login then pulls.
            var podmanFile = Path.Combine(folder, "podman.json");
            var login = await Clients.LoginAsync("podman", podmanFile, "ci-robot", fixture.OciToken);
            output.WriteLine(login.ToString());
            Assert.True(login.ExitCode == 0, login.ToString());
            Assert.Contains("Login Succeeded", login.StandardOutput, StringComparison.Ordinal);
            using (var stored = JsonDocument.Parse(await File.ReadAllTextAsync(podmanFile)))
            {
                var auth = stored.RootElement.GetProperty("auths").GetProperty(Clients.Registry).GetProperty("auth").GetString()!;
                Assert.Equal("ci-robot:" + fixture.OciToken, Encoding.UTF8.GetString(Convert.FromBase64String(auth)));
            }
            var pull = await Clients.PodmanWithAuthFileAsync(podmanFile, "pull", "--tls-verify=false", $"{Clients.Registry}/library/clean:1.0");
            output.WriteLine(pull.ToString());
            Assert.True(pull.ExitCode == 0, pull.ToString());

            // After podman logout the same pull is refused: the login was what let it through.
            var logout = await Clients.PodmanWithAuthFileAsync(podmanFile, "logout", "--authfile", podmanFile, Clients.Registry);
            Assert.True(logout.ExitCode == 0, logout.ToString());
            var anonymous = await Clients.PodmanWithAuthFileAsync(podmanFile, "pull", "--tls-verify=false", $"{Clients.Registry}/library/clean:1.0");
            output.WriteLine(anonymous.ToString());
            Assert.NotEqual(0, anonymous.ExitCode);
            Assert.Contains("unauthorized", anonymous.StandardError, StringComparison.OrdinalIgnoreCase);

            // skopeo login writes the same kind of file, and skopeo inspect reads it.
            var skopeoFile = Path.Combine(folder, "skopeo.json");
            var skopeoLogin = await Clients.LoginAsync("skopeo", skopeoFile, "someone-else", fixture.OciToken);
            output.WriteLine(skopeoLogin.ToString());
            Assert.True(skopeoLogin.ExitCode == 0, skopeoLogin.ToString());
            var inspect = await PythonVenv.RunAsync("skopeo", ["inspect", "--authfile", skopeoFile, "--tls-verify=false", Reference("library/clean")]);
            Assert.True(inspect.ExitCode == 0, inspect.ToString());
            using var inspected = JsonDocument.Parse(inspect.StandardOutput);
            Assert.Equal(fixture.Image("library/clean").Digest, inspected.RootElement.GetProperty("Digest").GetString());
        });
    }

    [Fact]
    public async Task A_registry_token_past_its_expiry_is_refused_with_invalid_token_and_the_same_token_within_its_life_is_not()
    {
        await Stack.RunAsync(output, async () =>
        {
            using var basic = Stack.CreateClient(authenticated: false);
            basic.DefaultRequestHeaders.Authorization = Basic(fixture.OciToken);
            using var issued = JsonDocument.Parse(await basic.GetStringAsync("oci/token?service=gatehouse&scope=repository:library/clean:pull"));
            var lifetime = TimeSpan.FromSeconds(issued.RootElement.GetProperty("expires_in").GetInt32());
            var subject = JsonDocument.Parse(Base64Url(issued.RootElement.GetProperty("token").GetString()!.Split('.')[1])).RootElement.GetProperty("sub").GetString()!;

            // Tokens for the same entitlement and scope, signed with the host's own key (kept in Azurite), issued now and
            // issued so long ago that they expired a minute past the validator's allowed clock skew.
            var now = DateTimeOffset.UtcNow;
            var fresh = await MintRegistryTokenAsync(subject, "library/clean", now);
            var expired = await MintRegistryTokenAsync(subject, "library/clean", now - lifetime - OciTokens.ClockSkew - TimeSpan.FromMinutes(1));

            using var bearer = Stack.CreateClient(authenticated: false);
            bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fresh);
            Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync("v2/library/clean/tags/list")).StatusCode);

            bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", expired);
            var refused = await bearer.GetAsync("v2/library/clean/tags/list");
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            var challenge = Assert.Single(refused.Headers.WwwAuthenticate);
            Assert.Equal("Bearer", challenge.Scheme);
            Assert.Contains("error=\"invalid_token\"", challenge.Parameter, StringComparison.Ordinal);
            Assert.Contains("expired", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        });
    }

    /// <summary>A registry token as the host's token endpoint would have issued it at <paramref name="issuedAt"/>, with the host's signing key.</summary>
    private static async Task<string> MintRegistryTokenAsync(string subject, string repository, DateTimeOffset issuedAt)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = TestEnvironment.StorageConnectionString })
            .Build();
        var options = Options.Create(new GatehouseOptions());
        var key = new OciTokenSigningKey(GatehouseStorage.FromConfiguration(configuration), options, NullLogger<OciTokenSigningKey>.Instance);
        var tokens = new OciTokens(key, options, new FakeTimeProvider(issuedAt));
        return (await tokens.IssueAsync(subject, [new OciAccess(OciAccess.Repository, repository, [OciAccess.Pull])], CancellationToken.None)).Token;
    }

    [Fact]
    public async Task Tags_are_listed_page_by_page_with_the_next_link()
    {
        await Stack.RunAsync(output, async () =>
        {
            using var client = Stack.CreateClient(authenticated: false);
            client.DefaultRequestHeaders.Authorization = Basic(fixture.OciToken);
            var first = await client.GetAsync("v2/library/clean/tags/list?n=1");
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            using var page = JsonDocument.Parse(await first.Content.ReadAsStringAsync());
            Assert.Equal("library/clean", page.RootElement.GetProperty("name").GetString());
            Assert.Single(page.RootElement.GetProperty("tags").EnumerateArray());
            var link = first.Headers.GetValues("Link").Single();
            Assert.StartsWith("</v2/library/clean/tags/list?n=1&last=", link, StringComparison.Ordinal);
            var next = link[1..link.IndexOf('>', StringComparison.Ordinal)];
            var second = await client.GetAsync(next.TrimStart('/'));
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            using var secondPage = JsonDocument.Parse(await second.Content.ReadAsStringAsync());
            Assert.NotEqual(page.RootElement.GetProperty("tags")[0].GetString(), secondPage.RootElement.GetProperty("tags")[0].GetString());
        });
    }

    [Theory]
    [InlineData("v2/library/%2e%2e/admin/manifests/1.0")]
    [InlineData("v2/library/.%2e/.%2e/admin/manifests/1.0")]
    [InlineData("v2/Library/Clean/manifests/1.0")]
    [InlineData("v2/library//clean/manifests/1.0")]
    [InlineData("v2/library/clean%2Fx/manifests/1.0")]
    [InlineData("v2/library/clean/manifests/..%2f..%2fx")]
    public async Task Path_tricks_in_repository_names_are_refused(string path)
    {
        using var client = Stack.CreateClient(authenticated: false);
        client.DefaultRequestHeaders.Authorization = Basic(fixture.OciToken);
        var response = await client.GetAsync(path);
        output.WriteLine($"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");

        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{path} answered {response.StatusCode}");
    }

    [Theory]
    [InlineData("bad/manifest-digest")]
    [InlineData("bad/malformed")]
    [InlineData("bad/oversized")]
    [InlineData("bad/blob-digest")]
    public async Task A_manifest_or_blob_that_does_not_match_or_cannot_be_read_is_refused_and_nothing_is_cached(string name)
    {
        await Stack.RunAsync(output, async () =>
        {
            var inspect = await Clients.SkopeoAsync("inspect", "--tls-verify=false", Reference(name));
            output.WriteLine(inspect.ToString());
            Assert.NotEqual(0, inspect.ExitCode);

            var image = fixture.Images.FirstOrDefault(i => i.Name == name);
            if (image is not null)
            {
                // Nothing of it is kept: no manifest copy, no facts, and no blob in the artifacts.
                Assert.False(await Stack.Storage.BlobExistsAsync("upstream-cache", $"oci/manifests/{image.Digest["sha256:".Length..]}") && name != "bad/blob-digest",
                    $"the manifest of {name} was kept");
                foreach (var (digest, _) in image.Layers)
                {
                    Assert.False(await Stack.Storage.BlobExistsAsync("artifacts", digest["sha256:".Length..]), $"{name}'s blob {digest} is in artifacts");
                    Assert.False(await Stack.Storage.BlobExistsAsync("staging", digest["sha256:".Length..]), $"{name}'s blob {digest} is in staging");
                }
            }
        });
    }

    private static AuthenticationHeaderValue Basic(string token) => new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("any:" + token)));

    private static byte[] Base64Url(string text) => Convert.FromBase64String(text.Replace('-', '+').Replace('_', '/').PadRight(text.Length + (4 - text.Length % 4) % 4, '='));
}

/// <summary>The container tests' shared host.</summary>
[CollectionDefinition(ContainerPullTests.Collection)]
public sealed class ContainerTestsCollection : ICollectionFixture<ContainerPullTests.Fixture>;
