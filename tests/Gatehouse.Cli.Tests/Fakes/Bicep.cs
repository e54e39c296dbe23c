using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Gatehouse.Cli.Tests.Fakes;

/// <summary>Runs the same tools/bicep the command uses (the CLI's build output), to know what a fixture compiles to.</summary>
public static class Bicep
{
    public static async Task<JsonNode> BuildAsync(string file)
    {
        var start = new ProcessStartInfo(Path.Combine(DeployCli.CliOutput, "tools", "bicep")) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("build");
        start.ArgumentList.Add(file);
        start.ArgumentList.Add("--stdout");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"bicep build {file} failed: {await stderr}");
        return JsonNode.Parse(await stdout)!;
    }
}
