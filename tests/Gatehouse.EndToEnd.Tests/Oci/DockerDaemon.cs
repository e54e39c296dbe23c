using System.Diagnostics;
using Gatehouse.EndToEnd.Tests.Infrastructure;

namespace Gatehouse.EndToEnd.Tests.Oci;

/// <summary>
/// A private dockerd (Debian's docker.io) for one test: its own socket, data and exec roots, the vfs storage driver and
/// no networking of its own (no bridge, no iptables), with Gatehouse as an insecure registry (plain http on loopback) and
/// as Docker Hub's mirror (<c>registry-mirrors</c>). The client runs with <c>DOCKER_HOST</c> on that socket and a
/// <c>DOCKER_CONFIG</c> folder per caller, so no login reaches the machine's own docker settings.
/// </summary>
public sealed class DockerDaemon : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(3);

    private readonly Process _process;
    private readonly string _root;

    private DockerDaemon(Process process, string root)
    {
        _process = process;
        _root = root;
    }

    /// <summary>The daemon's socket, as <c>DOCKER_HOST</c> names it.</summary>
    public string Host => $"unix://{Path.Combine(_root, "docker.sock")}";

    /// <summary>The daemon's log (stdout and stderr): where it says which endpoint it tried and why it moved on.</summary>
    public string LogPath => Path.Combine(_root, "dockerd.log");

    public string Log() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    /// <summary>Starts dockerd with <paramref name="registry"/> (host:port) as an insecure registry and Docker Hub's mirror, and waits until it answers.</summary>
    public static async Task<DockerDaemon> StartAsync(string registry, ITestOutputHelper output)
    {
        // A unix socket path must stay under 108 bytes, and containerd's sockets live under the exec root: keep /tmp short.
        var root = Directory.CreateDirectory(Path.Combine("/tmp", "gdk-" + TestEnvironment.UniqueSuffix())).FullName;
        var start = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            RedirectStandardInput = false,
        };
        string[] args =
        [
            File.Exists("/usr/sbin/dockerd") ? "/usr/sbin/dockerd" : "dockerd", "--data-root", Path.Combine(root, "data"), "--exec-root", Path.Combine(root, "exec"), "--pidfile", Path.Combine(root, "dockerd.pid"),
            "--host", $"unix://{Path.Combine(root, "docker.sock")}", "--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
            "--storage-driver=vfs", "--insecure-registry", registry, "--registry-mirror", $"http://{registry}",
        ];
        // The shell sends the daemon's output to its log file, so nothing has to drain a pipe for the test's lifetime.
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec \"$@\" >\"$GATEHOUSE_DOCKERD_LOG\" 2>&1");
        start.ArgumentList.Add("dockerd");
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["GATEHOUSE_DOCKERD_LOG"] = Path.Combine(root, "dockerd.log");
        var process = Process.Start(start) ?? throw new InvalidOperationException("dockerd did not start");
        var daemon = new DockerDaemon(process, root);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                var log = daemon.Log();
                await daemon.DisposeAsync();
                Assert.Fail($"dockerd exited {process.ExitCode} at start:\n{log}");
            }
            var info = await daemon.RunAsync(Path.Combine(root, "probe"), ["version", "--format", "{{.Server.Version}}"]);
            if (info.ExitCode == 0)
            {
                output.WriteLine($"dockerd {info.StandardOutput.Trim()} answered after {clock.Elapsed.TotalSeconds:F1} s on {daemon.Host}");
                return daemon;
            }
            if (clock.Elapsed > StartTimeout)
            {
                var log = daemon.Log();
                await daemon.DisposeAsync();
                Assert.Fail($"dockerd did not answer within {StartTimeout.TotalSeconds} s:\n{info}\n{log}");
            }
            await Task.Delay(250);
        }
    }

    /// <summary>The docker client on this daemon, with its settings (logins) in <paramref name="config"/>.</summary>
    public Task<ProcessResult> RunAsync(string config, IReadOnlyList<string> args, string? standardInput = null)
    {
        Directory.CreateDirectory(config);
        // Debian's client of the same release as the daemon, wherever PATH puts another one.
        var client = File.Exists("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
        return PythonVenv.RunAsync(client, args, new Dictionary<string, string> { ["DOCKER_HOST"] = Host, ["DOCKER_CONFIG"] = config }, CommandTimeout,
            standardInput);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM lets dockerd stop its containerd and unmount what it mounted.
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term!.WaitForExitAsync();
            }
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
        TestEnvironment.TryDeleteDirectory(_root);
    }
}
