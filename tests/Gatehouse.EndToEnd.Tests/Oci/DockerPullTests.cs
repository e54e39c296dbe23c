using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests.Oci;

/// <summary>
/// Debian's docker (docker.io 20.10: dockerd and its client) through Gatehouse, on the container tests' host:
/// <c>docker login</c> with any user name and the entitlement token, pulls in the explicit <c>host/…</c> form, and Docker
/// Hub's <c>registry-mirrors</c>. docker 20.10 cannot unpack zstd layers (Docker Engine 23.0 added them), so these
/// tests pull the gzip-only images: <c>library/clean:1.1</c> (Docker schema 2) and <c>library/evil-pickle:1.0</c>.
/// </summary>
[Collection(ContainerPullTests.Collection)]
public sealed class DockerPullTests(ContainerPullTests.Fixture fixture, ITestOutputHelper output)
{
    private const string Clean = "library/clean";
    private const string CleanTag = "1.1";

    [Fact]
    public async Task Docker_logs_in_with_the_entitlement_token_pulls_the_clean_image_and_prints_Gatehouses_reason_for_the_malicious_one()
    {
        var stack = fixture.Stack;
        var registry = fixture.Clients.Registry;
        await stack.RunAsync(output, async () =>
        {
            await using var docker = await DockerDaemon.StartAsync(registry, output);
            var config = fixture.Clients.Folder("docker-explicit");
            try
            {
                var login = await docker.RunAsync(config, ["login", registry, "--username", "ci", "--password-stdin"], fixture.OciToken + "\n");
                output.WriteLine(login.ToString());
                Assert.True(login.ExitCode == 0, login.ToString());
                Assert.Contains("Login Succeeded", login.StandardOutput, StringComparison.Ordinal);

                var pull = await docker.RunAsync(config, ["pull", $"{registry}/{Clean}:{CleanTag}"]);
                output.WriteLine(pull.ToString());
                Assert.True(pull.ExitCode == 0, pull.ToString());
                var digests = await docker.RunAsync(config, ["image", "inspect", "--format", "{{join .RepoDigests \" \"}}", $"{registry}/{Clean}:{CleanTag}"]);
                Assert.Contains($"{registry}/{Clean}@{fixture.Image(Clean, CleanTag).Digest}", digests.StandardOutput, StringComparison.Ordinal);

                var evil = await docker.RunAsync(config, ["pull", $"{registry}/library/evil-pickle:1.0"]);
                output.WriteLine(evil.ToString());
                Assert.NotEqual(0, evil.ExitCode);
                Assert.Contains("denied: Blocked by Gatehouse: pickle.dangerous-global", evil.StandardError, StringComparison.Ordinal);
                Assert.Contains("models/model.pkl", evil.StandardError, StringComparison.Ordinal);
            }
            finally
            {
                output.WriteLine(docker.Log());
            }
        });
    }

    [Fact]
    public async Task As_docker_hubs_mirror_Gatehouse_serves_an_allowed_image_and_a_refused_one_falls_through_to_docker_hub()
    {
        var stack = fixture.Stack;
        var registry = fixture.Clients.Registry;
        await stack.RunAsync(output, async () =>
        {
            await using var docker = await DockerDaemon.StartAsync(registry, output);
            try
            {
                // Without a Docker Hub login, dockerd asks the mirror anonymously: Gatehouse says 401 and dockerd moves on to
                // Docker Hub (unreachable here).
                var anonymous = await docker.RunAsync(fixture.Clients.Folder("docker-anonymous"), ["pull", $"{Clean}:{CleanTag}"]);
                output.WriteLine(anonymous.ToString());
                Assert.NotEqual(0, anonymous.ExitCode);
                Assert.Contains("Gatehouse needs an entitlement token", docker.Log(), StringComparison.Ordinal);

                // dockerd sends the mirror the credentials the client holds for Docker Hub (index.docker.io): with the
                // entitlement token stored there, `docker pull clean:1.1` comes through Gatehouse.
                var config = fixture.Clients.Folder("docker-mirror");
                var auth = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("ci:" + fixture.OciToken));
                await File.WriteAllTextAsync(Path.Combine(config, "config.json"),
                    System.Text.Json.JsonSerializer.Serialize(new { auths = new Dictionary<string, object> { ["https://index.docker.io/v1/"] = new { auth } } }));
                var pull = await docker.RunAsync(config, ["pull", $"{Clean}:{CleanTag}"]);
                output.WriteLine(pull.ToString());
                Assert.True(pull.ExitCode == 0, pull.ToString());
                var digests = await docker.RunAsync(config, ["image", "inspect", "--format", "{{join .RepoDigests \" \"}}", $"{Clean}:{CleanTag}"]);
                // docker names official images without library/ (clean@sha256:…).
                Assert.Equal($"clean@{fixture.Image(Clean, CleanTag).Digest}", digests.StandardOutput.Trim());

                // A refused image: dockerd takes the mirror's DENIED as a reason to try the next endpoint, Docker Hub itself.
                // The pull fails here only because Docker Hub is unreachable, and Gatehouse's reason is in the daemon's log,
                // not in the client's output. The README says so: with registry-mirrors, block egress to Docker Hub.
                var evil = await docker.RunAsync(config, ["pull", "library/evil-pickle:1.0"]);
                output.WriteLine(evil.ToString());
                Assert.NotEqual(0, evil.ExitCode);
                Assert.DoesNotContain("Blocked by Gatehouse", evil.StandardError, StringComparison.Ordinal);
                Assert.Contains("Attempting next endpoint for pull after error: denied: Blocked by Gatehouse: pickle.dangerous-global", docker.Log(),
                    StringComparison.Ordinal);
            }
            finally
            {
                output.WriteLine(docker.Log());
            }
        });
    }
}
