namespace Gatehouse.TestHelpers;

/// <summary>
/// Where the repository is on this machine. Tests run from their build output (bin/&lt;Configuration&gt;/&lt;tfm&gt;), so
/// the root is found by walking up to the folder that holds Gatehouse.slnx rather than by a relative path.
/// </summary>
public static class RepositoryPaths
{
    private static readonly Lazy<string> RootLazy = new(FindRoot);

    /// <summary>The folder holding Gatehouse.slnx; found once, on first use, above the running assembly.</summary>
    public static string Root => RootLazy.Value;

    /// <summary><c>tests/fixtures</c>: the committed PyPI, Hugging Face and model fixtures every test project reads.</summary>
    public static string Fixtures => Path.Combine(Root, "tests", "fixtures");

    /// <summary>
    /// <c>functions/&lt;project&gt;/bin/&lt;configuration&gt;/&lt;targetFramework&gt;</c>: where the build puts a product
    /// project's output, which tests run or read with the configuration they were built with themselves.
    /// </summary>
    public static string BuildOutput(string project, string configuration, string targetFramework) =>
        Path.Combine(Root, "functions", project, "bin", configuration, targetFramework);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Gatehouse.slnx")))
            {
                return directory.FullName;
            }
        }
        throw new DirectoryNotFoundException(
            $"No folder above {AppContext.BaseDirectory} holds Gatehouse.slnx; run the tests from the repository's build output.");
    }
}
