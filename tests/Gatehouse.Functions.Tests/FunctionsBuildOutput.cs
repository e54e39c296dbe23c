using System.Text.Json;
using Gatehouse.TestHelpers;

namespace Gatehouse.Functions.Tests;

/// <summary>The Functions app's build output, as the Worker SDK generated it for this test's Configuration.</summary>
internal static class FunctionsBuildOutput
{
    public static string Configuration { get; } = BuildMetadata.Read(typeof(FunctionsBuildOutput).Assembly, "Configuration");

    public static string ProjectDirectory => Path.Combine(RepositoryPaths.Root, "functions", "Gatehouse.Functions");

    /// <summary><c>functions/Gatehouse.Functions/bin/&lt;Configuration&gt;/net10.0</c>.</summary>
    public static string BinDirectory => RepositoryPaths.BuildOutput("Gatehouse.Functions", Configuration, "net10.0");

    /// <summary><c>functions/Gatehouse.Functions/obj/&lt;Configuration&gt;/net10.0</c>.</summary>
    public static string ObjDirectory => Path.Combine(ProjectDirectory, "obj", Configuration, "net10.0");

    /// <summary>Reads a file of the build output, failing with a message that says how to produce it.</summary>
    public static string ReadText(string path)
    {
        Assert.True(File.Exists(path),
            $"{path} is missing. Build the Functions app first: dotnet build functions/Gatehouse.Functions -c {Configuration}");
        return File.ReadAllText(path);
    }

    public static JsonElement ReadJson(string path)
    {
        using var document = JsonDocument.Parse(ReadText(path));
        return document.RootElement.Clone();
    }
}
