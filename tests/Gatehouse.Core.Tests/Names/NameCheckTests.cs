using System.Diagnostics;
using System.Globalization;
using Gatehouse.Names;

namespace Gatehouse.Core.Tests.Names;

public class NameCheckTests
{
    private static readonly TopProjects Top = TopProjects.Bundled;

    [Theory]
    [InlineData("reqeusts", "requests", "swapped", 1)]
    [InlineData("requets", "requests", "omitted", 1)]
    [InlineData("requestss", "requests", "repeated", 1)]
    [InlineData("numpyy", "numpy", "repeated", 1)]
    [InlineData("djangoo", "django", "repeated", 1)]
    [InlineData("urllib-3", "urllib3", "separator", 1)]
    [InlineData("urllib_3", "urllib3", "separator", 1)]
    [InlineData("scikitlearn", "scikit-learn", "separator", 1)]
    [InlineData("dateutil", "python-dateutil", "separator", 7)]
    [InlineData("pandas-py", "pandas", "separator", 3)]
    [InlineData("pynumpy", "numpy", "separator", 2)]
    [InlineData("nunpy", "numpy", "typo", 1)]
    [InlineData("rnatplotlib", "matplotlib", "typo", 2)]
    [InlineData("dateutil-python", "python-dateutil", "swapped-words", 14)]
    [InlineData("r\u0435quests", "requests", "confusable", 1)]
    [InlineData("\u0440andas", "pandas", "confusable", 1)]
    [InlineData("num\u0440y", "numpy", "confusable", 1)]
    [InlineData("\uFF4E\uFF55\uFF4D\uFF50\uFF59", "numpy", "confusable", 5)]
    [InlineData("b0to3", "boto3", "confusable", 1)]
    [InlineData("requestc", "requests", "bitflip", 1)]
    [InlineData("matpletlob", "matplotlib", "edit-distance", 2)]
    public void A_typosquat_is_flagged_with_its_target_and_technique(string name, string target, string technique, int distance)
    {
        var match = NameCheck.Typosquat(name, Top);
        Assert.NotNull(match);
        Assert.Equal(new TyposquatMatch(target, technique, distance), match);
    }

    [Theory]
    [InlineData("requests")]
    [InlineData("Requests")]
    [InlineData("numpy")]
    [InlineData("urllib3")]
    [InlineData("python-dateutil")]
    [InlineData("python_dateutil")]
    [InlineData("six")]
    [InlineData("boto3")]
    [InlineData("boto")]
    [InlineData("botocore")]
    [InlineData("s3transfer")]
    [InlineData("flask-login")]
    [InlineData("Flask_Login")]
    [InlineData("pip")]
    [InlineData("pipx")]
    [InlineData("my-internal-lib")]
    [InlineData("acme-billing-service")]
    [InlineData("")]
    public void A_popular_or_distinct_name_is_not_flagged(string name)
    {
        Assert.Null(NameCheck.Typosquat(name, Top));
    }

    [Fact]
    public void None_of_the_top_200_projects_is_flagged()
    {
        var names = Enumerable.Range(0, 200).Select(i => Top[i]).ToList();
        Assert.Equal(200, names.Distinct(StringComparer.Ordinal).Count());
        var flagged = names.Select(n => (Name: n, Match: NameCheck.Typosquat(n, Top))).Where(r => r.Match is not null).ToList();
        Assert.True(flagged.Count == 0, string.Join(", ", flagged.Select(f => $"{f.Name} → {f.Match}")));
    }

    [Fact]
    public void A_name_outside_ascii_that_imitates_nothing_known_is_not_matched()
    {
        Assert.Null(NameCheck.Typosquat("日本語", Top));
    }

    [Fact]
    public void A_supplied_list_replaces_the_bundled_one()
    {
        var top = TopProjects.From(["# comment", "Internal_Lib", "", "requests", "internal-lib"]);
        Assert.Equal(2, top.Count);
        Assert.Equal(1, top.Rank("internal.lib"));
        Assert.Equal(2, top.Rank("requests"));
        Assert.Null(top.Rank("numpy"));
        Assert.Equal(new TyposquatMatch("internal-lib", "repeated", 1), NameCheck.Typosquat("internal-libb", top));
        Assert.Null(NameCheck.Typosquat("nunpy", top));
    }

    [Fact]
    public void The_bundled_list_holds_the_top_5000_most_popular_first()
    {
        Assert.Equal(5000, Top.Count);
        Assert.True(Top.Contains("requests"));
        Assert.False(Top.Contains("my-internal-lib"));
        Assert.True(Top.Rank("boto3") < Top.Rank("boto"));
        Assert.Equal(Top.Rank("python-dateutil"), Top.Rank("Python_DateUtil"));
    }

    [Fact]
    public void The_target_is_the_most_popular_of_equally_close_projects()
    {
        var top = TopProjects.From(["abcde", "abcdf"]);
        Assert.Equal("abcde", NameCheck.Typosquat("abcdx", top)?.Target);
        var reversed = TopProjects.From(["abcdf", "abcde"]);
        Assert.Equal("abcdf", NameCheck.Typosquat("abcdx", reversed)?.Target);
    }

    [Theory]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("abcd", "acbd", 1)]
    [InlineData("ca", "abc", 3)]
    [InlineData("", "abc", 3)]
    [InlineData("same", "same", 0)]
    public void Distance_is_optimal_string_alignment(string a, string b, int expected)
    {
        Assert.Equal(expected, ProjectName.Distance(a, b));
        Assert.Equal(expected, ProjectName.Distance(b, a));
    }

    [Fact]
    public void A_check_takes_microseconds_once_the_index_is_built()
    {
        // Each project in ranks 1000..2999 with its last character doubled (caught early) and a made-up name that
        // imitates nothing (every check runs, edit distance included).
        var names = Enumerable.Range(1000, 2000)
            .SelectMany(i => new[] { Top[i] + Top[i][^1], string.Create(CultureInfo.InvariantCulture, $"acme-{i * 7919 % 100000:x}-service") })
            .ToList();
        var flagged = names.Count(n => NameCheck.Typosquat(n, Top) is not null);
        // The best of three timed rounds after the one above (which builds the index and compiles the code).
        var perName = Enumerable.Range(0, 3).Min(_ =>
        {
            var watch = Stopwatch.StartNew();
            foreach (var name in names)
            {
                NameCheck.Typosquat(name, Top);
            }
            return watch.Elapsed.TotalMicroseconds / names.Count;
        });
        Assert.InRange(flagged, names.Count / 2 - 50, names.Count / 2);
        // The aim is under 50 µs; the bound leaves room for a loaded test machine.
        Assert.True(perName < 250, $"{perName:F1} µs per name");
    }
}
