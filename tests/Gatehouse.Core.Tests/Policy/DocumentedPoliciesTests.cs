using System.Text.RegularExpressions;
using Gatehouse.Policy;
using Gatehouse.TestHelpers;

namespace Gatehouse.Core.Tests.Policy;

/// <summary>Every policy the README shows is a valid policy, and the facts table names every fact the language has.</summary>
public partial class DocumentedPoliciesTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "README.md"));

    private static string Section => Readme[Readme.IndexOf("## The policy", StringComparison.Ordinal)..Readme.IndexOf("## Architecture", StringComparison.Ordinal)];

    private static IEnumerable<string> Blocks => YamlBlock().Matches(Section).Select(m => m.Groups[1].Value);

    public static TheoryData<string> Policies => [.. Blocks];

    [Theory]
    [MemberData(nameof(Policies))]
    public void Each_policy_in_the_readme_is_valid(string yaml)
    {
        Assert.True(PolicyParser.TryParse(yaml, out _, out var errors), string.Join("\n", errors));
    }

    [Fact]
    public void The_readme_shows_the_language_and_three_example_policies()
    {
        var names = Blocks.Select(p => PolicyParser.Parse(p).Name).ToList();
        Assert.Equal(["acme", "startup", "bank", "lab"], names);
    }

    [Fact]
    public void The_facts_table_names_every_fact()
    {
        var missing = PolicyFacts.All.Keys.Where(fact => !Section.Contains($"`{fact}`", StringComparison.Ordinal)).ToList();
        Assert.Empty(missing);
    }

    [GeneratedRegex("```yaml\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex YamlBlock();
}
