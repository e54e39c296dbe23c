using System.Reflection;

namespace Gatehouse.TestHelpers;

/// <summary>
/// Reads the <see cref="AssemblyMetadataAttribute"/> values a test project's .csproj stamps in at build time (its
/// Configuration, target framework, tool paths), so a test finds the build output it was built against, not a guess.
/// </summary>
public static class BuildMetadata
{
    /// <summary>The value stored under <paramref name="key"/> in <paramref name="assembly"/>; a missing key throws naming the project to fix.</summary>
    public static string Read(Assembly assembly, string key) =>
        assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"Assembly metadata {key} is missing; it is set in {assembly.GetName().Name}.csproj.");
}
