using Gatehouse.Vulnerabilities;

namespace Gatehouse.Core.Tests.Vulnerabilities;

public class CvssScoreTests
{
    /// <summary>
    /// v3 base scores from the FIRST specifications and their calculator (https://www.first.org/cvss/calculator/3.1):
    /// the §7 examples 9.8 and 6.1 (CVE-2013-1937), v3.0's 7.8, Heartbleed (CVE-2014-0160) 7.5, a changed-scope 10.0 and
    /// the formula worked by hand for the least severe vector with an impact.
    /// </summary>
    [Theory]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "3.1", 9.8, "critical")]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "3.1", 6.1, "medium")]
    [InlineData("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", "3.0", 7.8, "high")]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "3.1", 7.5, "high")]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "3.1", 10.0, "critical")]
    [InlineData("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", "3.1", 1.6, "low")]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", "3.1", 0.0, "none")]
    [InlineData("CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N/E:U/RL:O", "3.1", 9.8, "critical")]
    public void V3_base_scores_match_the_specification(string vector, string version, double score, string severity)
    {
        Assert.True(CvssScore.TryCompute(vector, out var result));
        Assert.Equal(version, result.Version);
        Assert.Equal(score, result.BaseScore);
        Assert.Equal(severity, result.Severity);
    }

    /// <summary>
    /// v4.0 scores as the FIRST reference calculator (github.com/RedHatProductSecurity/cvss-v4-calculator, cvss40.js)
    /// computes them; this implementation was also compared with it on 20 000 random base and environmental vectors.
    /// </summary>
    [Theory]
    [InlineData("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, "critical")]
    [InlineData("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.5, "high")]
    [InlineData("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:L/VI:L/VA:N/SC:L/SI:L/SA:N", 5.3, "medium")]
    [InlineData("CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", 1.0, "low")]
    [InlineData("CVSS:4.0/AV:N/AC:H/AT:P/PR:L/UI:A/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0.0, "none")]
    [InlineData("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U", 8.1, "high")]
    [InlineData("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:H/SI:H/SA:H/MSI:S", 9.1, "critical")]
    public void V4_scores_match_the_reference_calculator(string vector, double score, string severity)
    {
        Assert.True(CvssScore.TryCompute(vector, out var result));
        Assert.Equal("4.0", result.Version);
        Assert.Equal(score, result.BaseScore);
        Assert.Equal(severity, result.Severity);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")]
    [InlineData("CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P")]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H")]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:L")]
    [InlineData("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1")]
    [InlineData("CVSS:4.0/AV:N/AC:L/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")]
    public void Malformed_or_unknown_vectors_have_no_score(string? vector) => Assert.False(CvssScore.TryCompute(vector, out _));

    /// <summary>v3.1 Appendix A: float noise just above a tenth is not rounded up; anything really above it is.</summary>
    [Theory]
    [InlineData(4.000000000000001, 4.0)]
    [InlineData(4.02, 4.1)]
    [InlineData(4.0, 4.0)]
    [InlineData(9.71, 9.8)]
    public void Roundup_follows_appendix_a(double input, double expected) => Assert.Equal(expected, CvssScore.Roundup31(input));

    [Theory]
    [InlineData(0.0, "none")]
    [InlineData(0.1, "low")]
    [InlineData(3.9, "low")]
    [InlineData(4.0, "medium")]
    [InlineData(6.9, "medium")]
    [InlineData(7.0, "high")]
    [InlineData(8.9, "high")]
    [InlineData(9.0, "critical")]
    [InlineData(10.0, "critical")]
    public void Ratings_follow_the_specification_bands(double score, string rating) => Assert.Equal(rating, CvssScore.Rating(score));
}
