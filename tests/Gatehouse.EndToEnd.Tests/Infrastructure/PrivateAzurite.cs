using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>
/// An Azurite of the test's own, which the test may stop and start again: the one <c>scripts/lib/azurite.sh</c>
/// installs (<c>scripts/azurite/node_modules</c>, <c>azurite_install</c>), started with the same flags as
/// <c>azurite_start</c> on free loopback ports with a data folder of its own. <see cref="RestartAsync"/> reuses both,
/// so clients keep their connection string and find what was stored before. Dispose kills it and deletes the folder.
/// </summary>
public sealed class PrivateAzurite : IAsyncDisposable
{
    /// <summary>The well-known development storage account (public, documented by Microsoft; not a secret).</summary>
    private const string AccountName = "devstoreaccount1";
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private const int MaxLogLines = 5_000;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);

    private readonly ConcurrentQueue<string> _log = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private Process? _process;

    private PrivateAzurite(string dataDirectory, int blobPort, int queuePort, int tablePort)
    {
        DataDirectory = dataDirectory;
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
    }

    public string DataDirectory { get; }
    public int BlobPort { get; }
    public int QueuePort { get; }
    public int TablePort { get; }

    /// <summary>The Azurite binary <c>azurite_install</c> puts under <c>scripts/azurite</c> (<c>AZURITE_BIN</c> in scripts/lib/azurite.sh).</summary>
    public static string Binary => Path.Combine(TestEnvironment.RepoRoot, "scripts", "azurite", "node_modules", ".bin", "azurite");

    /// <summary>As <c>azurite_connection_string</c> prints it: the development account on this Azurite's three ports.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{Port(BlobPort)}/{AccountName};QueueEndpoint=http://127.0.0.1:{Port(QueuePort)}/{AccountName};" +
        $"TableEndpoint=http://127.0.0.1:{Port(TablePort)}/{AccountName};";

    /// <summary>True while the Azurite process is alive.</summary>
    public bool IsRunning => _process is { HasExited: false };

    public int? ProcessId => _process?.Id;

    /// <summary>Starts an Azurite on three free ports with a fresh data folder and waits until every port accepts connections.</summary>
    public static async Task<PrivateAzurite> StartAsync()
    {
        Assert.True(File.Exists(Binary),
            $"{Binary} does not exist: install the pinned Azurite with `source scripts/lib/azurite.sh; azurite_install` (scripts/test.sh does it).");
        var ports = new HashSet<int>();
        while (ports.Count < 3)
        {
            ports.Add(TestEnvironment.FreePort());
        }
        var (blob, queue, table) = (ports.ElementAt(0), ports.ElementAt(1), ports.ElementAt(2));
        var azurite = new PrivateAzurite(TestEnvironment.NewTempDirectory("azurite"), blob, queue, table);
        try
        {
            await azurite.LaunchAsync();
        }
        catch
        {
            await azurite.DisposeAsync();
            throw;
        }
        return azurite;
    }

    /// <summary>
    /// Stops Azurite as a storage outage looks to its clients: connections refused until <see cref="RestartAsync"/>.
    /// SIGTERM first, because Azurite keeps its metadata in memory and saves it every 5 s and at shutdown, so a SIGKILL
    /// would also lose writes it had acknowledged, which real storage never does; SIGKILL only if it does not exit in time.
    /// </summary>
    public async Task StopAsync()
    {
        var process = _process ?? throw new InvalidOperationException("Azurite was never started.");
        if (process.HasExited)
        {
            return;
        }
        var stopwatch = Stopwatch.StartNew();
        using (var signal = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", process.Id.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false }))
        {
            await signal!.WaitForExitAsync();
        }
        using var timeout = new CancellationTokenSource(StopTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
            Note($"stopped (SIGTERM) in {stopwatch.Elapsed.TotalSeconds:F1} s");
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Note($"did not exit within {StopTimeout.TotalSeconds} s of SIGTERM; killed");
        }
    }

    /// <summary>Starts Azurite again on the same ports with the same data folder, after <see cref="StopAsync"/>.</summary>
    public async Task RestartAsync()
    {
        Assert.False(IsRunning, "RestartAsync expects Azurite to be stopped (StopAsync first).");
        _process?.Dispose();
        _process = null;
        await LaunchAsync();
    }

    /// <summary>What Azurite printed, oldest first, with the test's start and stop notes; the last <paramref name="lastLines"/> when given.</summary>
    public string Log(int? lastLines = null)
    {
        var lines = _log.ToArray();
        if (lastLines is { } n && lines.Length > n)
        {
            lines = [$"... ({lines.Length - n} earlier lines left out)", .. lines[^n..]];
        }
        return string.Join('\n', lines);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    await process.WaitForExitAsync(timeout.Token);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
            {
                // Already gone.
            }
            process.Dispose();
            _process = null;
        }
        TestEnvironment.TryDeleteDirectory(DataDirectory);
    }

    private async Task LaunchAsync()
    {
        foreach (var port in new[] { BlobPort, QueuePort, TablePort })
        {
            Assert.False(await AcceptsAsync(port), $"port {port} on 127.0.0.1 is taken by someone else; the private Azurite cannot (re)start on it");
        }
        // The flags of azurite_start in scripts/lib/azurite.sh.
        var start = new ProcessStartInfo
        {
            FileName = Binary,
            WorkingDirectory = DataDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            ArgumentList =
            {
                "--location", DataDirectory, "--skipApiVersionCheck", "--disableTelemetry", "--loose",
                "--blobHost", "127.0.0.1", "--blobPort", Port(BlobPort),
                "--queueHost", "127.0.0.1", "--queuePort", Port(QueuePort),
                "--tableHost", "127.0.0.1", "--tablePort", Port(TablePort),
            },
        };
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data is null ? null : "stderr: " + e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {Binary}.");
        }
        _process = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Note($"started pid {process.Id} (blob {BlobPort}, queue {QueuePort}, table {TablePort}, data {DataDirectory})");

        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited with code {process.ExitCode} during startup. Its output:\n{Log(50)}");
            }
            if (await AcceptsAsync(BlobPort) && await AcceptsAsync(QueuePort) && await AcceptsAsync(TablePort))
            {
                Note($"ready after {waited.Elapsed.TotalSeconds:F1} s");
                return;
            }
            if (waited.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"Azurite did not open ports {BlobPort}/{QueuePort}/{TablePort} within {StartTimeout.TotalSeconds} s. Its output:\n{Log(50)}");
            }
            await Task.Delay(200);
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await socket.ConnectAsync("127.0.0.1", port, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    private void Note(string message) => Append($"[test {_clock.Elapsed.TotalSeconds:F1}s] private Azurite {message}");

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        _log.Enqueue(line);
        while (_log.Count > MaxLogLines && _log.TryDequeue(out _))
        {
        }
    }
}
