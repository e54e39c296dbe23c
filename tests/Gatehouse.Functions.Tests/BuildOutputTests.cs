using System.Xml.Linq;

namespace Gatehouse.Functions.Tests;

/// <summary>Files beside the app that decide what the Functions host loads.</summary>
public sealed class BuildOutputTests
{
    private const string DurableHostExtension = "Microsoft.Azure.WebJobs.Extensions.DurableTask";

    [Fact]
    public void The_generated_WorkerExtensions_project_references_the_Durable_host_extension()
    {
        // The SDK adds a host extension only when a binding attribute of it appears in a function signature.
        var path = Path.Combine(FunctionsBuildOutput.ObjDirectory, "WorkerExtensions", "WorkerExtensions.csproj");
        var project = XDocument.Parse(FunctionsBuildOutput.ReadText(path));

        var packages = project.Descendants("PackageReference").Select(p => (string?)p.Attribute("Include")).ToList();

        Assert.Contains(DurableHostExtension, packages);
    }

    [Fact]
    public void The_output_extensions_json_loads_the_Durable_host_extension_from_the_azurefunctions_folder()
    {
        var extensions = FunctionsBuildOutput.ReadJson(Path.Combine(FunctionsBuildOutput.BinDirectory, "extensions.json"))
            .GetProperty("extensions").EnumerateArray().ToList();

        var durable = Assert.Single(extensions, e =>
            e.GetProperty("typeName").GetString()!.StartsWith(DurableHostExtension + ".", StringComparison.Ordinal));
        var hintPath = durable.GetProperty("hintPath").GetString()!;

        Assert.Equal($"./.azurefunctions/{DurableHostExtension}.dll", hintPath);
        Assert.True(File.Exists(Path.Combine(FunctionsBuildOutput.BinDirectory, hintPath)), $"{hintPath} is not in the build output.");
    }

    [Fact]
    public void The_output_host_json_serves_routes_without_the_api_prefix()
    {
        var hostJson = FunctionsBuildOutput.ReadJson(Path.Combine(FunctionsBuildOutput.BinDirectory, "host.json"));

        Assert.Equal("", hostJson.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
    }
}
