using System.Diagnostics;
using System.Text;

namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>What a finished child process did.</summary>
public sealed record ProcessResult(string Command, int ExitCode, string StandardOutput, string StandardError, TimeSpan Elapsed)
{
    public string Output => StandardOutput + StandardError;

    public override string ToString() =>
        $"$ {Command}\n(exit {ExitCode} after {Elapsed.TotalSeconds:F1} s)\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
}

/// <summary>
/// A fresh virtual environment (<c>python3 -m venv</c>, pip from ensurepip, offline) and a pip that sees nothing
/// of the machine's pip configuration: no config files, no <c>PIP_*</c> variables (e.g. a <c>PIP_FIND_LINKS</c> that
/// would let packages bypass the index under test), no <c>HF_*</c> settings, no netrc, no keyring prompt.
/// </summary>
public sealed class PythonVenv : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(3);

    private readonly IReadOnlyDictionary<string, string>? _environment;

    private PythonVenv(string root, IReadOnlyDictionary<string, string>? environment)
    {
        Root = root;
        _environment = environment;
    }

    public string Root { get; }
    public string PythonPath => Path.Combine(Root, "bin", "python");

    /// <summary>A venv of <paramref name="python"/> (default <see cref="TestEnvironment.Python"/>); <paramref name="environment"/> goes to every command run in it.</summary>
    public static async Task<PythonVenv> CreateAsync(ITestOutputHelper output, string? python = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var root = TestEnvironment.NewTempDirectory("venv");
        var venv = new PythonVenv(root, environment);
        var created = await RunAsync(python ?? TestEnvironment.Python, ["-m", "venv", root]);
        output.WriteLine($"venv created in {created.Elapsed.TotalSeconds:F1} s: {root}");
        Assert.True(created.ExitCode == 0, $"{python ?? TestEnvironment.Python} -m venv failed:\n{created}");
        return venv;
    }

    /// <summary><c>python -m pip &lt;args&gt;</c> in this venv, isolated from the machine's pip settings.</summary>
    public Task<ProcessResult> PipAsync(params string[] args) => RunAsync(PythonPath, ["-m", "pip", .. args], _environment);

    public Task<ProcessResult> PythonAsync(params string[] args) => RunAsync(PythonPath, args, _environment);

    /// <summary>The arguments of a quiet, cache-free, non-interactive install from <paramref name="indexUrl"/>.</summary>
    public static string[] InstallArguments(string indexUrl, params string[] more) =>
        ["install", "--no-cache-dir", "--disable-pip-version-check", "--no-input", "--index-url", indexUrl, .. more];

    public void Dispose() => TestEnvironment.TryDeleteDirectory(Root);

    /// <summary>
    /// Runs any command with pip's and Python's settings removed from its environment, then <paramref name="environment"/>
    /// added; tokens are redacted from the log line. <paramref name="standardInput"/>, when given, is written to the
    /// command's stdin and closed (how a secret reaches <c>--password-stdin</c> without a command line).
    /// </summary>
    internal static async Task<ProcessResult> RunAsync(string fileName, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null, string? standardInput = null)
    {
        var start = new ProcessStartInfo
        {
            FileName = fileName,
            RedirectStandardInput = standardInput is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        foreach (var key in start.Environment.Keys.ToList())
        {
            if (key.StartsWith("PIP_", StringComparison.OrdinalIgnoreCase) || key.StartsWith("PYTHON", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("HF_", StringComparison.OrdinalIgnoreCase)
                || key is "VIRTUAL_ENV" or "NETRC" or "REQUESTS_CA_BUNDLE" or "CURL_CA_BUNDLE")
            {
                start.Environment.Remove(key);
            }
        }
        start.Environment["PIP_CONFIG_FILE"] = "/dev/null"; // pip reads no configuration file at all
        start.Environment["PIP_NO_INPUT"] = "1";
        start.Environment["NETRC"] = "/dev/null";
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        start.Environment["PYTHONUNBUFFERED"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var command = string.Join(' ', new[] { fileName }.Concat(args).Select(Redact));
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stdout)
                {
                    stdout.AppendLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        var clock = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
            process.StandardInput.Close();
        }
        var limit = timeout ?? CommandTimeout;
        using var deadline = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"`{command}` did not finish within {limit.TotalSeconds} s.\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
        }
        process.WaitForExit(); // drains the redirected streams
        return new ProcessResult(command, process.ExitCode, stdout.ToString(), stderr.ToString(), clock.Elapsed);
    }

    /// <summary>Tokens travel in index URLs (<c>http://ght_…@host/</c>); they never go into test output.</summary>
    private static string Redact(string arg)
    {
        var at = arg.IndexOf('@');
        var scheme = arg.IndexOf("://", StringComparison.Ordinal);
        return scheme > 0 && at > scheme ? arg[..(scheme + 3)] + "****" + arg[at..] : arg;
    }
}
