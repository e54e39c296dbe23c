using Gatehouse.TestHelpers;
using Gatehouse.Vulnerabilities;

namespace Gatehouse.Core.Tests.Vulnerabilities;

/// <summary>The committed OSV fixture export (tests/fixtures/osv) and its records.</summary>
internal static class OsvFixtures
{
    public static string Folder => Path.Combine(RepositoryPaths.Fixtures, "osv");

    public static string Zip => Path.Combine(Folder, "pypi-fixture.zip");

    public static string RecordPath(string id) => Path.Combine(Folder, "records", id + ".json");

    public static OsvRecord Load(string id)
    {
        var record = OsvRecord.TryParse(File.ReadAllBytes(RecordPath(id)), out var error);
        Assert.True(record is not null, $"{id}: {error}");
        return record;
    }
}
