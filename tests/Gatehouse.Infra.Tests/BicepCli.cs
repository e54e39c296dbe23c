using System.Diagnostics;
using Gatehouse.TestHelpers;

namespace Gatehouse.Infra.Tests;

/// <summary>The Bicep CLI restored from NuGet (Azure.Bicep.CommandLine.linux-x64), run as a user would run it.</summary>
public sealed class BicepCli
{
    /// <summary>Variables the .bicepparam files read: cleared for every run so a developer's azd environment cannot leak in.</summary>
    public static readonly string[] ParameterVariables =
    [
        "AZURE_ENV_NAME", "AZURE_PRINCIPAL_ID", "AZURE_PRINCIPAL_TYPE", "GATEHOUSE_OPERATOR_GROUP_ID", "GATEHOUSE_BLOB_TRIGGER_FUNCTION",
        "AZURE_FUNCTION_APP_NAME", "AZURE_EVENTGRID_SYSTEM_TOPIC_NAME", "AZURE_STORAGE_ACCOUNT_NAME",
        "AZURE_EVENTGRID_DEADLETTER_CONTAINER_NAME", "GATEHOUSE_OCI_TOKEN_SIGNING_KEY",
    ];

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public BicepCli(string path) => Path = path;

    public string Path { get; }

    /// <summary>GATEHOUSE_BICEP if set, else the restored package's tools/bicep; fails saying how to restore it.</summary>
    public static BicepCli Find()
    {
        var path = Environment.GetEnvironmentVariable("GATEHOUSE_BICEP") is { Length: > 0 } overridden
            ? overridden
            : BuildMetadata.Read(typeof(BicepCli).Assembly, "BicepPath");
        if (!File.Exists(path))
        {
            throw new InvalidOperationException(
                $"The Bicep CLI is not at {path}. Restore it with: dotnet restore tests/Gatehouse.Infra.Tests (or set GATEHOUSE_BICEP).");
        }
        return new BicepCli(path);
    }

    /// <summary>Runs bicep with <paramref name="arguments"/> in <paramref name="workingDirectory"/>.</summary>
    public async Task<BicepResult> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(Path)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var name in ParameterVariables)
        {
            start.Environment.Remove(name);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        start.Environment["NO_COLOR"] = "1";

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Path}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} did not finish within {Timeout}");
        }
        return new BicepResult(process.ExitCode, await stdout, await stderr, string.Join(' ', arguments));
    }
}

/// <summary>What one bicep command did.</summary>
public sealed record BicepResult(int ExitCode, string StandardOutput, string StandardError, string Command)
{
    /// <summary>Compiler and linter diagnostics ("file(line,col) : Warning rule: message").</summary>
    public IReadOnlyList<string> Diagnostics =>
        (StandardOutput + "\n" + StandardError).Split('\n')
            .Where(l => l.Contains(" : Error ", StringComparison.Ordinal) || l.Contains(" : Warning ", StringComparison.Ordinal) || l.Contains(" : Info ", StringComparison.Ordinal))
            .Select(l => l.Trim())
            .ToList();

    /// <summary>Fails the test with bicep's own output unless the command succeeded without any diagnostic.</summary>
    public BicepResult EnsureClean()
    {
        if (ExitCode != 0 || Diagnostics.Count > 0)
        {
            throw new Xunit.Sdk.XunitException($"bicep {Command} exited {ExitCode}:\n{StandardOutput}\n{StandardError}");
        }
        return this;
    }
}
