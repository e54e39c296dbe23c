using System.Text.RegularExpressions;
using Gatehouse.TestHelpers;

namespace Gatehouse.Core.Tests.Architecture;

/// <summary>
/// Gatehouse.Core's folders form layers: no two folders use each other, directly or around a circle, and the pipeline
/// uses no ecosystem's code, so a new remote is a new folder, not edits across Core. A folder "uses" another when its
/// code names a type declared there (with or without a <c>using</c>: C# resolves parent namespaces implicitly).
/// </summary>
public sealed partial class FolderDependencyTests
{
    private static readonly Lazy<IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlySet<string>>>> Graph = new(Build);

    [Fact]
    public void No_folders_of_core_use_each_other_directly_or_around_a_circle()
    {
        var graph = Graph.Value;
        Assert.True(graph.Count >= 8, $"only {graph.Count} folders were read; the source was not found where expected");
        var cycle = FindCycle(graph);
        Assert.True(cycle is null, cycle is null ? "" :
            "Folders of Gatehouse.Core use each other in a circle: " + string.Join(" → ", cycle) + "\n" +
            string.Join("\n", cycle.Zip(cycle.Skip(1)).Select(p => $"{p.First} uses {p.Second} through {string.Join(", ", graph[p.First][p.Second].Order(StringComparer.Ordinal))}")));
    }

    [Theory]
    [InlineData("Pipeline", "PyPI")]
    [InlineData("Pipeline", "HuggingFace")]
    [InlineData("Upstream", "Pipeline")]
    [InlineData("Upstream", "PyPI")]
    [InlineData("Upstream", "HuggingFace")]
    [InlineData("Policy", "PyPI")]
    [InlineData("Policy", "HuggingFace")]
    [InlineData("PyPI", "HuggingFace")]
    [InlineData("HuggingFace", "PyPI")]
    public void A_shared_layer_does_not_use_an_ecosystem_and_ecosystems_do_not_use_each_other(string folder, string forbidden)
    {
        var uses = Graph.Value.GetValueOrDefault(folder);
        Assert.NotNull(uses);
        Assert.False(uses.ContainsKey(forbidden), $"{folder} uses {forbidden} through {string.Join(", ", uses.GetValueOrDefault(forbidden) ?? new HashSet<string>())}");
    }

    /// <summary>Folder → folders it uses → the type names it uses there. Root files are the composition root, "(root)".</summary>
    private static IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlySet<string>>> Build()
    {
        var core = Path.Combine(RepositoryPaths.Root, "functions", "Gatehouse.Core");
        var sources = Directory.EnumerateFiles(core, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToDictionary(f => f, f => Code(File.ReadAllText(f)));
        string FolderOf(string file)
        {
            var relative = Path.GetRelativePath(core, file).Split(Path.DirectorySeparatorChar);
            return relative.Length > 1 ? relative[0] : "(root)";
        }

        // A type name declared in exactly one folder belongs to it; a name declared in several is left out (ambiguous).
        var owners = sources.SelectMany(s => Declaration().Matches(s.Value).Select(m => (Type: m.Groups[1].Value, Folder: FolderOf(s.Key))))
            .Distinct().GroupBy(d => d.Type).Where(g => g.Count() == 1).ToDictionary(g => g.Key, g => g.Single().Folder, StringComparer.Ordinal);
        var graph = new Dictionary<string, Dictionary<string, HashSet<string>>>(StringComparer.Ordinal);
        foreach (var (file, code) in sources)
        {
            var folder = FolderOf(file);
            var uses = graph.TryGetValue(folder, out var known) ? known : graph[folder] = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            foreach (var name in Identifier().Matches(code).Select(m => m.Value).Distinct(StringComparer.Ordinal))
            {
                if (owners.TryGetValue(name, out var owner) && owner != folder)
                {
                    (uses.TryGetValue(owner, out var types) ? types : uses[owner] = new HashSet<string>(StringComparer.Ordinal)).Add(name);
                }
            }
        }
        return graph.ToDictionary(g => g.Key, g => (IReadOnlyDictionary<string, IReadOnlySet<string>>)g.Value.ToDictionary(u => u.Key, u => (IReadOnlySet<string>)u.Value),
            StringComparer.Ordinal);
    }

    /// <summary>A path that leaves a folder and comes back to it, or null.</summary>
    private static List<string>? FindCycle(IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlySet<string>>> graph)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        var path = new List<string>();
        List<string>? Visit(string folder)
        {
            if (path.IndexOf(folder) is var at and >= 0)
            {
                return [.. path[at..], folder];
            }
            if (!done.Add(folder))
            {
                return null;
            }
            path.Add(folder);
            foreach (var next in graph.GetValueOrDefault(folder)?.Keys ?? [])
            {
                if (Visit(next) is { } cycle)
                {
                    return cycle;
                }
            }
            path.RemoveAt(path.Count - 1);
            return null;
        }
        return graph.Keys.Order(StringComparer.Ordinal).Select(Visit).FirstOrDefault(c => c is not null);
    }

    /// <summary>The code without comments and string literals, which may name types without using them.</summary>
    private static string Code(string source) => StringLiteral().Replace(Comment().Replace(source, " "), "\"\"");

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex Comment();

    [GeneratedRegex(@"@?\$*""(?:[^""\\\n]|\\.)*""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\b(?:class|record|interface|enum|struct)\s+([A-Z]\w*)")]
    private static partial Regex Declaration();

    [GeneratedRegex(@"\b[A-Z]\w*\b")]
    private static partial Regex Identifier();
}
