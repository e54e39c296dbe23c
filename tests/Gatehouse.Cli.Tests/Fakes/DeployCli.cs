using System.CommandLine;
using System.Diagnostics;
using Gatehouse.Cli.Deploy;
using Gatehouse.TestHelpers;

namespace Gatehouse.Cli.Tests.Fakes;

/// <summary>What one run of the command did.</summary>
public sealed record CliResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}

/// <summary>
/// Runs <c>gatehouse deploy</c> in process against a <see cref="FakeAzure"/>: the fake credential, a transport pinned
/// to the fake's certificate, the CLI's build output as the folder its tools/bicep is found in, no environment
/// variables, and polling intervals of a few milliseconds where the service sends no Retry-After.
/// </summary>
public static class DeployCli
{
    public static string Fixtures { get; } = Path.Combine(RepositoryPaths.Root, "tests", "Gatehouse.Cli.Tests", "Fixtures");

    /// <summary><c>functions/Gatehouse.Cli/bin/&lt;Configuration&gt;/&lt;tfm&gt;</c>: where <c>gatehouse</c> and its tools/bicep are built.</summary>
    public static string CliOutput { get; } =
        RepositoryPaths.BuildOutput("Gatehouse.Cli", Metadata("GatehouseConfiguration"), Metadata("GatehouseTargetFramework"));

    public static string Fixture(string name) => Path.Combine(Fixtures, name);

    public static async Task<CliResult> RunAsync(FakeAzure? azure, FakeCredential credential, ITestOutputHelper log, string[] args, string? toolsDirectory = null)
    {
        var services = new DeployServices(
            () => credential,
            azure?.Transport(),
            TimeProvider.System,
            toolsDirectory ?? CliOutput,
            _ => null,
            new DeployTiming(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(5)));
        var root = new RootCommand { DeployCommand.Build(services) };
        string[] endpoint = azure is null ? [] : ["--arm-endpoint", azure.BaseUri.AbsoluteUri, "--arm-audience", Arm.Audience];
        var output = new StringWriter();
        var error = new StringWriter();
        var clock = Stopwatch.StartNew();
        var exit = await root.Parse(["deploy", .. endpoint, .. args]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        var result = new CliResult(exit, output.ToString(), error.ToString());
        log.WriteLine($"gatehouse deploy {string.Join(' ', args)} ({clock.ElapsedMilliseconds} ms)\n{result}");
        foreach (var request in azure?.Requests ?? [])
        {
            log.WriteLine($"  {request}");
        }
        return result;
    }

    private static string Metadata(string key) => BuildMetadata.Read(typeof(DeployCli).Assembly, key);
}
