using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Cli.Deploy;

/// <summary>An ARM template and its parameter values (<c>{"name":{"value":…}}</c>), ready for the deployment body.</summary>
internal sealed record CompiledTemplate(JsonObject Template, JsonObject Parameters)
{
    /// <summary>The names the template declares as parameters.</summary>
    public bool Declares(string parameter) => Template["parameters"] is JsonObject declared && declared.ContainsKey(parameter);

    /// <summary>A copy with <paramref name="parameter"/> set to <paramref name="value"/> (the command line wins over the file).</summary>
    public CompiledTemplate With(string parameter, string value)
    {
        var parameters = (JsonObject)Parameters.DeepClone();
        parameters[parameter] = new JsonObject { ["value"] = value };
        return this with { Parameters = parameters };
    }
}

/// <summary>What compiling gave: the template, or bicep's exit code and diagnostics. Warnings come with either.</summary>
internal sealed record CompileResult(CompiledTemplate? Compiled, int ExitCode, IReadOnlyList<string> Diagnostics);

/// <summary>
/// Compiles Bicep with the CLI from the <c>Azure.Bicep.CommandLine.linux-x64</c> package, which the build copies to
/// <c>tools/bicep</c> beside <c>gatehouse</c>: <c>bicep build-params &lt;file&gt; --stdout</c> for a <c>.bicepparam</c>
/// (template and parameters in one JSON), else <c>bicep build &lt;file&gt; --stdout</c>; an ARM JSON template or
/// parameters file is read as it is.
/// </summary>
internal sealed class BicepCompiler(string bicepPath)
{
    /// <summary>Where the build puts the binary, relative to the CLI's own folder.</summary>
    public const string RelativePath = "tools/bicep";

    /// <summary>The bicep binary beside the CLI, or why there is none.</summary>
    public static (string? Path, string? Problem) Locate(string toolsDirectory)
    {
        var path = Path.Combine(toolsDirectory, RelativePath);
        if (!File.Exists(path))
        {
            return (null, $"The Bicep CLI is missing: expected {path}. It is copied there from the Azure.Bicep.CommandLine.linux-x64 " +
                "NuGet package when Gatehouse.Cli is built; build it again (dotnet build functions/Gatehouse.Cli).");
        }
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            return (null, $"{path} is the linux-x64 Bicep CLI; it cannot run on {System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier}.");
        }
        return (path, null);
    }

    /// <param name="template">A .bicep or ARM .json template; with a .bicepparam it is checked against the file's <c>using</c> line.</param>
    /// <param name="parametersFile">A .bicepparam, an ARM parameters .json, or null.</param>
    /// <param name="environment">Variables for bicep's <c>readEnvironmentVariable()</c> in .bicepparam files.</param>
    public async Task<CompileResult> CompileAsync(string? template, string? parametersFile, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        if (parametersFile is not null && parametersFile.EndsWith(".bicepparam", StringComparison.OrdinalIgnoreCase))
        {
            string[] args = template is null ? ["build-params", parametersFile, "--stdout"] : ["build-params", parametersFile, "--stdout", "--bicep-file", template];
            var (exit, stdout, diagnostics) = await RunAsync(args, environment, cancellationToken);
            if (exit != 0)
            {
                return new CompileResult(null, exit, diagnostics);
            }
            var both = JsonNode.Parse(stdout)!;
            var parameters = ParametersOf(JsonNode.Parse(both["parametersJson"]!.GetValue<string>()));
            var compiledTemplate = (JsonObject)JsonNode.Parse(both["templateJson"]!.GetValue<string>())!;
            return new CompileResult(new CompiledTemplate(compiledTemplate, parameters), 0, diagnostics);
        }

        if (template is null)
        {
            return new CompileResult(null, 2, ["No template: give --template, or a .bicepparam with --parameters."]);
        }
        JsonObject templateJson;
        IReadOnlyList<string> templateDiagnostics = [];
        if (template.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            templateJson = (JsonObject)JsonNode.Parse(await File.ReadAllTextAsync(template, cancellationToken))!;
        }
        else
        {
            var (exit, stdout, diagnostics) = await RunAsync(["build", template, "--stdout"], environment, cancellationToken);
            if (exit != 0)
            {
                return new CompileResult(null, exit, diagnostics);
            }
            templateJson = (JsonObject)JsonNode.Parse(stdout)!;
            templateDiagnostics = diagnostics;
        }
        var values = parametersFile is null ? [] : ParametersOf(JsonNode.Parse(await File.ReadAllTextAsync(parametersFile, cancellationToken)));
        return new CompileResult(new CompiledTemplate(templateJson, values), 0, templateDiagnostics);
    }

    // An ARM parameters file holds {"$schema","contentVersion","parameters":{…}}; a bare {"name":{"value":…}} is accepted too.
    private static JsonObject ParametersOf(JsonNode? file) =>
        (JsonObject)((file?["parameters"] as JsonObject) ?? (file as JsonObject) ?? []).DeepClone();

    private async Task<(int ExitCode, string Stdout, IReadOnlyList<string> Diagnostics)> RunAsync(
        string[] args, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(bicepPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {bicepPath}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var diagnostics = (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return (process.ExitCode, await stdout, diagnostics);
    }
}
