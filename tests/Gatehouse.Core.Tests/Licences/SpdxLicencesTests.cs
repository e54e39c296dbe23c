using Gatehouse.Licences;

namespace Gatehouse.Core.Tests.Licences;

/// <summary>The embedded SPDX License List: pinned, so an update is a deliberate change here (scripts/spdx-licence-list.py writes it).</summary>
public sealed class SpdxLicencesTests
{
    [Fact]
    public void The_embedded_list_is_version_3_27_0_with_its_licences_and_exceptions()
    {
        Assert.Equal("3.27.0", SpdxLicences.ListVersion);
        Assert.Equal((699, 79), SpdxLicences.Counts);
    }

    [Theory]
    [InlineData("mit", "MIT")]
    [InlineData("APACHE-2.0", "Apache-2.0")]
    [InlineData("bsd-3-clause", "BSD-3-Clause")]
    [InlineData("gpl-2.0", "GPL-2.0")]
    [InlineData("GPL-2.0+", "GPL-2.0+")]
    [InlineData("agpl-3.0-or-later", "AGPL-3.0-or-later")]
    [InlineData("LicenseRef-Proprietary", "LicenseRef-Proprietary")]
    [InlineData("DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2", "DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2")]
    public void Ids_are_found_case_insensitively_and_spelled_as_listed(string id, string expected)
    {
        Assert.True(SpdxLicences.TryCanonical(id, out var canonical));
        Assert.Equal(expected, canonical);
    }

    [Theory]
    [InlineData("MIT License")]
    [InlineData("BSD")]
    [InlineData("GPL")]
    [InlineData("LicenseRef-")]
    [InlineData("LicenseRef-has space")]
    [InlineData("licenseref-lower-prefix")]
    [InlineData("DocumentRef-x:MIT")]
    [InlineData("")]
    public void Names_that_are_not_ids_are_not_found(string id)
    {
        Assert.False(SpdxLicences.TryCanonical(id, out var canonical));
        Assert.Equal("", canonical);
    }

    [Theory]
    [InlineData("MIT", true)]
    [InlineData("apache-2.0", true)]
    [InlineData("GPL-3.0-only", true)]
    [InlineData("PSF-2.0", false)]
    [InlineData("CC-BY-NC-4.0", false)]
    [InlineData("LicenseRef-Anything", false)]
    [InlineData("Not-A-Licence", false)]
    public void Osi_approval_is_as_the_list_says(string id, bool approved) => Assert.Equal(approved, SpdxLicences.IsOsiApproved(id));

    [Fact]
    public void Every_id_the_mapping_tables_produce_is_a_current_listed_id_or_a_licence_ref()
    {
        var targets = LicenceClassifiers.Table.Values.Concat(LicenceNames.Targets).Concat(HuggingFaceLicences.Targets).Distinct().ToList();
        Assert.True(targets.Count > 60, $"only {targets.Count} targets");
        foreach (var id in targets)
        {
            Assert.True(SpdxLicences.TryCanonical(id, out var canonical), $"{id} is not on SPDX License List {SpdxLicences.ListVersion}");
            Assert.Equal(id, canonical);
            Assert.False(SpdxLicences.IsDeprecated(id), $"{id} is deprecated");
        }
    }
}
