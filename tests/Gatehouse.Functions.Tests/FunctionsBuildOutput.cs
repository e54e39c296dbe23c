using System.Reflection;
using System.Text.Json;

namespace Gatehouse.Functions.Tests;

/// <summary>The Functions app's build output, as the Worker SDK generated it for this test's Configuration.</summary>
internal static class FunctionsBuildOutput
{
    public static string Configuration { get; } = typeof(FunctionsBuildOutput).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "Configuration").Value!;

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string ProjectDirectory => Path.Combine(RepositoryRoot, "functions", "Gatehouse.Functions");

    /// <summary><c>functions/Gatehouse.Functions/bin/&lt;Configuration&gt;/net10.0</c>.</summary>
    public static string BinDirectory => Path.Combine(ProjectDirectory, "bin", Configuration, "net10.0");

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

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Gatehouse.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} holds Gatehouse.slnx.");
    }
}
