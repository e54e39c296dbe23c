using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>Settings the tests give the standalone host, as environment variables (<c>__</c> means <c>:</c>).</summary>
public sealed record HostSettings
{
    public required Uri Upstream { get; init; }
    public required string HubName { get; init; }
    public int Port { get; init; }
    public int IndexTtlSeconds { get; init; } = 300;
    public int InlineWaitSeconds { get; init; } = 60;
    public int RetryAfterSeconds { get; init; } = 1;
    public string ServingMode { get; init; } = "Stream";

    /// <summary><c>Gatehouse__PublicBaseUrl</c>; null leaves it unset (the host's own URL is used).</summary>
    public string? PublicBaseUrl { get; init; }

    /// <summary>Load the simulator's OSV fixture exports, PyPI, Debian and Alpine (at start and on <c>POST /admin/osv/refresh</c>); off by default.</summary>
    public bool OsvFixture { get; init; }

    /// <summary><c>Gatehouse__Policy__File</c>: a policy file the host reads and reloads; null runs the built-in default.</summary>
    public string? PolicyFile { get; init; }

    /// <summary>
    /// How long a dequeued orchestration (control-queue) message stays hidden; null keeps DurableTask.AzureStorage's 5
    /// minutes. A message whose processing failed while storage was gone cannot be handed back, so it is seen again only after this.
    /// </summary>
    public int? ControlQueueVisibilityTimeoutSeconds { get; init; }

    /// <summary>Send events to the simulator's CloudEvents receiver (<c>/_sim/events</c>), polled every second, retried after 0.5 s doubling to 2 s.</summary>
    public bool EventsToSimulator { get; init; }

    /// <summary><c>Gatehouse__Auth__FailureLimit</c> and <c>FailureWindowSeconds</c>; null keeps the host's defaults.</summary>
    public (int Limit, int WindowSeconds)? AuthFailures { get; init; }

    /// <summary><c>Gatehouse__Uploads__WatchSeconds</c>: how often the uploads watcher lists the container; null keeps the host's default.</summary>
    public int? UploadsWatchSeconds { get; init; }

    /// <summary>Further settings (<c>Gatehouse__…</c> environment variables) a test needs, applied last.</summary>
    public IReadOnlyDictionary<string, string>? Extra { get; init; }

    public IReadOnlyDictionary<string, string> ToEnvironment(string storageConnectionString)
    {
        var upstream = Upstream.GetLeftPart(UriPartial.Authority);
        var environment = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = storageConnectionString,
            ["Gatehouse__PyPI__IndexUrl"] = $"{upstream}/simple/",
            ["Gatehouse__PyPI__JsonApiUrl"] = $"{upstream}/pypi/",
            ["Gatehouse__PyPI__FileHosts"] = Upstream.Authority,
            ["Gatehouse__PyPI__IndexTtlSeconds"] = Invariant(IndexTtlSeconds),
            // The simulator serves the Hub too (tests/fixtures/hf). Its branches move between tests, so answers for a branch
            // are not cached; commit-pinned answers still are (they cannot change).
            ["Gatehouse__HuggingFace__Endpoint"] = upstream,
            ["Gatehouse__HuggingFace__CacheTtlSeconds"] = "0",
            // The simulator plays Docker Hub too: the registry at the root of /v2/, its token realm and its blob "CDN" on the same host.
            ["Gatehouse__Oci__Registries__0__Prefix"] = "",
            ["Gatehouse__Oci__Registries__0__Url"] = upstream,
            ["Gatehouse__Oci__Registries__0__OfficialImagesUnderLibrary"] = "true",
            ["Gatehouse__Oci__Registries__0__AuthHosts"] = Upstream.Authority,
            ["Gatehouse__Oci__Registries__0__BlobHosts"] = Upstream.Authority,
            ["Gatehouse__Scan__InlineWaitSeconds"] = Invariant(InlineWaitSeconds),
            ["Gatehouse__Scan__RetryAfterSeconds"] = Invariant(RetryAfterSeconds),
            ["Gatehouse__Serving__Mode"] = ServingMode,
            ["Gatehouse__Durable__HubName"] = HubName,
            ["Gatehouse__Durable__PartitionCount"] = "1",
            ["Gatehouse__Durable__LeaseAcquireIntervalSeconds"] = "1",
            ["Gatehouse__Durable__LeaseIntervalSeconds"] = "5",
            ["Gatehouse__Durable__LeaseRenewIntervalSeconds"] = "2",
            ["Gatehouse__Durable__MaxQueuePollingIntervalSeconds"] = "1",
            // How long a dequeued activity message stays invisible; after a crash mid-activity the next host sees it again
            // only then. DurableTask.AzureStorage defaults to 5 minutes, longer than HostCrashRecoveryTests' budget.
            ["Gatehouse__Durable__WorkItemQueueVisibilityTimeoutSeconds"] = "30",
            // Readable logs for failure reports: one line per message, with a timestamp; no per-request noise.
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
            ["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning",
            ["Logging__LogLevel__System.Net.Http.HttpClient"] = "Warning",
            ["Logging__LogLevel__Microsoft.DurableTask.Client.Grpc"] = "Warning",
            ["Logging__LogLevel__Grpc.AspNetCore.Server"] = "Warning",
        };
        // No test reaches OSV's real exports: without the fixture the mirror points at a closed local port and stays empty.
        var osv = OsvFixture ? $"{upstream}/osv" : "http://127.0.0.1:9/osv";
        environment["Gatehouse__Osv__ExportUrl"] = $"{osv}/PyPI/all.zip";
        environment["Gatehouse__Osv__ExtraExportUrls"] = $"{osv}/Debian/all.zip {osv}/Alpine/all.zip";
        if (PolicyFile is not null)
        {
            environment["Gatehouse__Policy__File"] = PolicyFile;
            environment["Gatehouse__Policy__ReloadSeconds"] = "1";
        }
        if (UploadsWatchSeconds is { } watchSeconds)
        {
            environment["Gatehouse__Uploads__WatchSeconds"] = Invariant(watchSeconds);
        }
        if (PublicBaseUrl is not null)
        {
            environment["Gatehouse__PublicBaseUrl"] = PublicBaseUrl;
        }
        if (ControlQueueVisibilityTimeoutSeconds is { } controlQueueVisibility)
        {
            environment["Gatehouse__Durable__ControlQueueVisibilityTimeoutSeconds"] = Invariant(controlQueueVisibility);
        }
        if (EventsToSimulator)
        {
            environment["Gatehouse__Events__WebhookUrl"] = $"{upstream}/_sim/events";
            environment["Gatehouse__Events__PollSeconds"] = "1";
            environment["Gatehouse__Events__RetryBaseSeconds"] = "0.5";
            environment["Gatehouse__Events__RetryMaxSeconds"] = "2";
        }
        if (AuthFailures is { } failures)
        {
            environment["Gatehouse__Auth__FailureLimit"] = Invariant(failures.Limit);
            environment["Gatehouse__Auth__FailureWindowSeconds"] = Invariant(failures.WindowSeconds);
        }
        foreach (var (key, value) in Extra ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }
        return environment;
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// The standalone host (<c>functions/Gatehouse.Host</c>) as a child process: <c>dotnet Gatehouse.Host.dll --urls …</c>
/// with its settings in the environment, stdout and stderr kept for failure reports.
/// </summary>
public sealed class GatehouseHostProcess : IAsyncDisposable
{
    private const int MaxLogLines = 50_000;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private GatehouseHostProcess(string name, Process process, Uri baseAddress, HostSettings settings)
    {
        Name = name;
        _process = process;
        BaseAddress = baseAddress;
        Settings = settings;
    }

    public string Name { get; }
    public Uri BaseAddress { get; }
    public HostSettings Settings { get; }
    public int ProcessId => _process.Id;
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code once the process has ended, else null.</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Starts the host and waits for <c>/healthz</c>; <paramref name="storageConnectionString"/> defaults to the test Azurite's.</summary>
    public static async Task<GatehouseHostProcess> StartAsync(string name, HostSettings settings, string? storageConnectionString = null)
    {
        var hostDll = TestEnvironment.HostDll;
        if (!File.Exists(hostDll))
        {
            throw new InvalidOperationException(
                $"{hostDll} does not exist. Build the tests (the project reference builds the host) with -c {TestEnvironment.Configuration}.");
        }
        var port = settings.Port != 0 ? settings.Port : TestEnvironment.FreePort();
        settings = settings with { Port = port };
        var baseAddress = new Uri($"http://127.0.0.1:{port}/");
        var workingDirectory = TestEnvironment.NewTempDirectory("host");
        var start = new ProcessStartInfo
        {
            FileName = DotnetHost(),
            WorkingDirectory = workingDirectory, // no stray local.settings.json is read
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(hostDll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(baseAddress.GetLeftPart(UriPartial.Authority));
        foreach (var key in start.Environment.Keys.ToList())
        {
            // Only the settings below configure the host under test.
            if (key.StartsWith("Gatehouse__", StringComparison.OrdinalIgnoreCase) || key.StartsWith("AzureWebJobs", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase) || key.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase)
                || key is "DOTNET_URLS" or "DOTNET_ENVIRONMENT")
            {
                start.Environment.Remove(key);
            }
        }
        foreach (var (key, value) in settings.ToEnvironment(storageConnectionString ?? TestEnvironment.StorageConnectionString))
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var host = new GatehouseHostProcess(name, process, baseAddress, settings);
        process.OutputDataReceived += (_, e) => host.Append(e.Data);
        process.ErrorDataReceived += (_, e) => host.Append(e.Data is null ? null : "stderr: " + e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {start.FileName} {hostDll}.");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        host.Note($"started pid {process.Id} on {baseAddress} (hub {settings.HubName}, cwd {workingDirectory})");
        try
        {
            await host.WaitUntilHealthyAsync();
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return host;
    }

    /// <summary>Ends the process and its children at once (SIGKILL): no graceful shutdown, no lease release.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.WaitForExit(10_000);
        Note($"killed (exit code {(_process.HasExited ? _process.ExitCode.ToString(CultureInfo.InvariantCulture) : "?")})");
    }

    /// <summary>Sends a POSIX signal (<c>TERM</c>, <c>INT</c>, ...) to the host, as a service manager or Ctrl+C does (Linux).</summary>
    public void Signal(string signal)
    {
        var start = new ProcessStartInfo("kill") { UseShellExecute = false, RedirectStandardError = true };
        start.ArgumentList.Add($"-{signal}");
        start.ArgumentList.Add(_process.Id.ToString(CultureInfo.InvariantCulture));
        using var kill = Process.Start(start) ?? throw new InvalidOperationException("Could not start kill.");
        var error = kill.StandardError.ReadToEnd();
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {_process.Id} failed with exit code {kill.ExitCode}: {error}");
        }
        Note($"sent SIG{signal}");
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the process to end; false when it is still running.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        Note($"exited with code {_process.ExitCode}");
        return true;
    }

    /// <summary>Everything the host printed, oldest first; the last <paramref name="lastLines"/> lines when given.</summary>
    public string Log(int? lastLines = null)
    {
        var lines = _log.ToArray();
        if (lastLines is { } n && lines.Length > n)
        {
            lines = [$"... ({lines.Length - n} earlier lines left out)", .. lines[^n..]];
        }
        return string.Join('\n', lines);
    }

    public int CountLogLines(string contains) => _log.Count(l => l.Contains(contains, StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(timeout.Token);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // Already gone, or never started.
        }
        TestEnvironment.TryDeleteDirectory(_process.StartInfo.WorkingDirectory);
        _process.Dispose();
    }

    private async Task WaitUntilHealthyAsync()
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        var last = "no answer yet";
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"Gatehouse host '{Name}' exited with code {_process.ExitCode} before /healthz answered. Its output:\n{Log(200)}");
            }
            try
            {
                using var response = await client.GetAsync("healthz");
                if ((int)response.StatusCode == 200)
                {
                    Note($"healthy after {deadline.Elapsed.TotalSeconds:F1} s");
                    return;
                }
                last = $"HTTP {(int)response.StatusCode}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"Gatehouse host '{Name}' did not answer GET /healthz with 200 within {StartTimeout.TotalSeconds} s (last: {last}). Its output:\n{Log(200)}");
    }

    private void Note(string message) => Append($"[test {_clock.Elapsed.TotalSeconds:F1}s] host '{Name}' {message}");

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

    /// <summary>The dotnet executable running these tests (the SDK sets DOTNET_HOST_PATH), else the one on PATH.</summary>
    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path && File.Exists(path) ? path : "dotnet";
}
