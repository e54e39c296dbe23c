using System.Diagnostics;
using System.Text;

namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>
/// <c>node --test</c> on one script of an npm project under <c>tests/</c>. Settings go in the environment, never on the
/// command line, so a token stays out of the logged command; <c>NODE_OPTIONS</c> from the machine is dropped.
/// </summary>
public static class NodeTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    public static async Task<ProcessResult> RunAsync(string projectDirectory, string script, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo
        {
            FileName = "node",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = projectDirectory,
        };
        foreach (var arg in new[] { "--test", "--test-reporter=spec", script })
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment.Remove("NODE_OPTIONS");
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var command = $"node --test --test-reporter=spec {script} (in {projectDirectory}, with {string.Join(", ", environment.Keys)})";
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);
        var clock = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"`{command}` did not finish within {Timeout.TotalSeconds} s.\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
        }
        process.WaitForExit(); // drains the redirected streams
        return new ProcessResult(command, process.ExitCode, stdout.ToString(), stderr.ToString(), clock.Elapsed);
    }

    private static void Append(StringBuilder sink, string? line)
    {
        if (line is not null)
        {
            lock (sink)
            {
                sink.AppendLine(line);
            }
        }
    }
}
