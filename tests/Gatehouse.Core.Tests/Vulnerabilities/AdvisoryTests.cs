using System.Text;
using Gatehouse.Vulnerabilities;
using static Gatehouse.Core.Tests.Vulnerabilities.OsvMatcherTests;

namespace Gatehouse.Core.Tests.Vulnerabilities;

public class AdvisoryTests
{
    private const string Critical31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
    private const string Medium31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N";

    [Fact]
    public void The_demo_advisory_for_gh_dep_is_critical_and_fixed_in_1_1_0()
    {
        var advisory = Advisory.From(OsvFixtures.Load("PYSEC-0000-GH-DEP-1"), "gh-dep");
        Assert.Equal("PYSEC-0000-GH-DEP-1", advisory.Id);
        Assert.Equal(9.8, advisory.Cvss);
        Assert.Equal("critical", advisory.Severity);
        Assert.False(advisory.Malicious);
        Assert.Equal(["1.1.0"], advisory.FixedIn);
        Assert.Equal(["CVE-0000-00001"], advisory.Aliases);
    }

    [Fact]
    public void A_mal_record_is_malicious_with_unknown_severity_when_it_carries_none()
    {
        var advisory = Advisory.From(OsvFixtures.Load("MAL-2024-10238"), "123bla");
        Assert.True(advisory.Malicious);
        Assert.Null(advisory.Cvss);
        Assert.Equal(Advisory.UnknownSeverity, advisory.Severity);
        Assert.Empty(advisory.FixedIn);
        Assert.Equal("Malicious code in 123bla (PyPI)", advisory.Summary);
    }

    [Fact]
    public void The_highest_score_among_the_record_and_the_projects_own_vectors_wins()
    {
        var affected = Package("demo", null, Range(new OsvEvent(Introduced: "0"))) with { Severity = [new OsvSeverity("CVSS_V3", Critical31)] };
        var other = Package("other", null) with { Severity = [new OsvSeverity("CVSS_V4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H")] };
        var record = Record(affected, other) with { Severity = [new OsvSeverity("CVSS_V3", Medium31), new OsvSeverity("CVSS_V2", "AV:N/AC:L/Au:N/C:C/I:C/A:C")] };

        var forDemo = Advisory.From(record, "demo");
        var forThird = Advisory.From(record, "third");

        Assert.Equal((9.8, "critical"), (forDemo.Cvss, forDemo.Severity));
        Assert.Equal((6.1, "medium"), (forThird.Cvss, forThird.Severity));
    }

    [Theory]
    [InlineData("LOW", "low")]
    [InlineData("MODERATE", "medium")]
    [InlineData("HIGH", "high")]
    [InlineData("CRITICAL", "critical")]
    [InlineData("SEVERE", "unknown")]
    public void Without_a_vector_the_github_label_is_used(string label, string severity)
    {
        var record = Record(Package("demo", ["1.0"])) with { DatabaseSpecific = new OsvDatabaseSpecific(label) };
        var advisory = Advisory.From(record, "demo");
        Assert.Null(advisory.Cvss);
        Assert.Equal(severity, advisory.Severity);
    }

    [Fact]
    public void A_vector_outranks_the_label_and_a_v4_vector_is_scored()
    {
        var record = Record(Package("demo", ["1.0"])) with
        {
            DatabaseSpecific = new OsvDatabaseSpecific("LOW"),
            Severity = [new OsvSeverity("CVSS_V4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")],
        };
        var advisory = Advisory.From(record, "demo");
        Assert.Equal((9.3, "critical"), (advisory.Cvss, advisory.Severity));
    }

    [Fact]
    public void Database_specific_is_read_whatever_else_it_holds()
    {
        const string json = """
            {"id":"GHSA-test-0000-0001","modified":"2026-01-01T00:00:00Z","details":"First line.\nSecond line.",
             "database_specific":{"severity":"HIGH","cwe_ids":["CWE-79"],"github_reviewed":true},
             "affected":[{"package":{"ecosystem":"PyPI","name":"Demo_Pkg"},"versions":["1.0"],"database_specific":{"severity":{"odd":1}}}]}
            """;
        var record = OsvRecord.TryParse(Encoding.UTF8.GetBytes(json), out var error);
        Assert.NotNull(record);
        Assert.Null(error);
        var advisory = Advisory.From(record, "demo-pkg");
        Assert.Equal("high", advisory.Severity);
        Assert.Equal("First line.", advisory.Summary);
        Assert.Equal(["demo-pkg"], record.PyPIProjects());
    }

    [Theory]
    [InlineData("not json", "not an OSV record")]
    [InlineData("null", "null")]
    [InlineData("""{"modified":"2026-01-01T00:00:00Z"}""", "no id")]
    [InlineData("""{"id":"X-1"}""", "no modified time")]
    [InlineData("""{"id":"X-1","modified":"2026-01-01T00:00:00Z","affected":"oops"}""", "not an OSV record")]
    public void Records_that_are_not_osv_are_refused_with_a_reason(string json, string reason)
    {
        Assert.Null(OsvRecord.TryParse(Encoding.UTF8.GetBytes(json), out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
