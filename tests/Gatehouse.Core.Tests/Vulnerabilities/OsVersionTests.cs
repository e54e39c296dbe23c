using Gatehouse.TestHelpers;
using Gatehouse.Vulnerabilities;

namespace Gatehouse.Core.Tests.Vulnerabilities;

/// <summary>dpkg's and apk-tools' version ordering, on their own projects' test vectors (tests/fixtures/versions).</summary>
public sealed class OsVersionTests
{
    private static string Fixture(string name) => Path.Combine(RepositoryPaths.Fixtures, "versions", name);

    public static TheoryData<string, string, int> DpkgVectors()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var line in File.ReadLines(Fixture("dpkg-versions.data")).Where(l => l.Trim().Length > 0))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            data.Add(parts[0], parts[1], int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(DpkgVectors))]
    public void Debian_versions_order_as_dpkgs_own_test_vectors_say(string a, string b, int expected)
    {
        Assert.True(DebianVersion.TryParse(a, out var left), a);
        Assert.True(DebianVersion.TryParse(b, out var right), b);
        Assert.Equal(expected, Math.Sign(left.CompareTo(right)));
        Assert.Equal(-expected, Math.Sign(right.CompareTo(left)));
    }

    [Fact]
    public void Debian_policy_orders_tilde_before_the_end_and_the_end_before_letters()
    {
        // Debian Policy §5.6.12: "~~, ~~a, ~, the empty part, a".
        string[] ordered = ["1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a"];
        var parsed = ordered.Select(v => DebianVersion.TryParse(v, out var p) ? p : throw new InvalidOperationException(v)).ToList();
        for (var i = 1; i < parsed.Count; i++)
        {
            Assert.True(parsed[i - 1].CompareTo(parsed[i]) < 0, $"{ordered[i - 1]} < {ordered[i]}");
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("-0")]
    [InlineData("0:-0")]
    [InlineData(":1.0")]
    [InlineData("1.0-")]
    [InlineData("10a:5.2")]
    [InlineData("5.2@3-2")]
    [InlineData("foo5.2")]
    [InlineData("1.0 1")]
    public void Versions_dpkg_calls_invalid_are_not_parsed(string text) => Assert.False(DebianVersion.TryParse(text, out _));

    [Theory]
    [InlineData("1:1.0:1.0", 1, "1.0:1.0", "")]
    [InlineData("1.0-1.0-1", 0, "1.0-1.0", "1")]
    [InlineData("2:2.36-9+deb12u4", 2, "2.36", "9+deb12u4")]
    public void Epoch_upstream_and_revision_split_at_the_first_colon_and_the_last_hyphen(string text, int epoch, string upstream, string revision)
    {
        Assert.True(DebianVersion.TryParse(text, out var v));
        Assert.Equal((epoch, upstream, revision), (v.Epoch, v.Upstream, v.Revision));
    }

    public static TheoryData<string> ApkLines()
    {
        var data = new TheoryData<string>();
        foreach (var raw in File.ReadLines(Fixture("apk-tools-version.data")))
        {
            var line = raw.Split('#')[0].Trim();
            // "~" is apk's fuzzy match for dependencies, not an order; the rest are comparisons and validity checks.
            if (line.Length > 0 && !line.Contains(" ~ ", StringComparison.Ordinal) && !line.Contains('~' + " ", StringComparison.Ordinal))
            {
                data.Add(line);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ApkLines))]
    public void Alpine_versions_order_and_validate_as_apk_tools_own_test_vectors_say(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 1)
        {
            var invalid = parts[0].StartsWith('!');
            Assert.Equal(!invalid, AlpineVersion.IsValid(invalid ? parts[0][1..] : parts[0]));
            return;
        }
        var (a, op, b) = (parts[0], parts[1], parts[2]);
        var negated = op.StartsWith('!');
        var sign = Math.Sign(AlpineVersion.Compare(a, b));
        var holds = op.TrimStart('!') switch
        {
            "<" => sign < 0,
            ">" => sign > 0,
            "=" => sign == 0,
            "<=" => sign <= 0,
            ">=" => sign >= 0,
            var other => throw new InvalidOperationException($"operator {other} in '{line}'"),
        };
        Assert.True(holds != negated, line);
    }

    [Fact]
    public void The_apk_vectors_were_read()
    {
        Assert.True(ApkLines().Count > 700);
        Assert.True(DpkgVectors().Count > 40);
    }
}
