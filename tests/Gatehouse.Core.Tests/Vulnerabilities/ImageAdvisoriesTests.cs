using Azure.Data.Tables;
using Gatehouse.Oci.Layers;
using Gatehouse.Storage;
using Gatehouse.Vulnerabilities;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Core.Tests.Vulnerabilities;

/// <summary>An image's Python, Debian and Alpine packages against the OSV mirror on Azurite, loaded with the PyPI and OS fixture records.</summary>
[Collection(VulnerabilityMirrorTests.TableCollection)]
public sealed class ImageAdvisoriesTests : IAsyncLifetime
{
    private static readonly OsReleaseRecord Bookworm = new("etc/os-release", "debian", "12");
    private static readonly OsReleaseRecord Bullseye = new("etc/os-release", "debian", "11");
    private static readonly OsReleaseRecord Alpine319 = new("etc/os-release", "alpine", "3.19.1");

    private readonly GatehouseStorage _storage;
    private readonly VulnerabilityMirror _mirror;

    public ImageAdvisoriesTests()
    {
        _storage = OsvFixtures.Storage();
        _mirror = OsvFixtures.Mirror(_storage);
    }

    private TableClient Table => _storage.Table(GatehouseStorage.VulnerabilitiesTable);

    public Task InitializeAsync() => OsvFixtures.EmptyTableAsync(_storage);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task The_importer_keeps_distribution_records_in_their_own_partitions_beside_pypi_projects()
    {
        var result = await ImportAsync();

        Assert.Equal(new OsvImportResult(Records: 9, Projects: 10, Upserted: 10, Unchanged: 0, Deleted: 0, SkippedInvalid: 0), result);
        var partitions = new List<string>();
        await foreach (var row in Table.QueryAsync<TableEntity>(e => e.PartitionKey != "_meta", select: ["PartitionKey"]))
        {
            partitions.Add(row.PartitionKey);
        }
        Assert.Contains("Debian:12|openssl", partitions);
        Assert.Contains("Debian:11|openssl", partitions);
        Assert.Contains("Alpine:v3.19|openssl", partitions);
        Assert.Contains("requests", partitions);
    }

    [Fact]
    public async Task A_debian_package_below_the_fix_is_affected_through_its_source_package_and_the_summary_names_it()
    {
        await ImportAsync();
        var facts = await new ImageAdvisories(_mirror).ForAsync(Image(Bookworm,
            Deb("libssl3", "3.0.11-1~deb12u1", "openssl"), Deb("openssl", "3.0.11-1~deb12u1", "openssl"), Deb("zlib1g", "1:1.2.13.dfsg-1", null)), default);

        var fact = Assert.Single(facts!);
        Assert.Equal("DSA-0000-1", fact.Id);
        Assert.Equal(["3.0.11-1~deb12u2"], fact.FixedIn); // Debian 11's fix is not this release's
        Assert.StartsWith("openssl 3.0.11-1~deb12u1 (Debian:12, source of libssl3, layer sha256:0123456789ab…): openssl - security update", fact.Summary);
    }

    [Fact]
    public async Task A_debian_package_at_the_fix_or_in_another_release_is_not_affected()
    {
        await ImportAsync();
        var advisories = new ImageAdvisories(_mirror);

        Assert.Empty((await advisories.ForAsync(Image(Bookworm, Deb("libssl3", "3.0.11-1~deb12u2", "openssl")), default))!);
        Assert.Empty((await advisories.ForAsync(Image(Bookworm, Deb("libssl3", "3.0.11-1~deb12u2+b1", "openssl")), default))!);
        // Debian 11's entry fixes at 1.1.1w: a Debian 12 package is judged by Debian 12's entry only.
        Assert.Single((await advisories.ForAsync(Image(Bullseye, Deb("libssl1.1", "1.1.1n-0+deb11u5", "openssl")), default))!);
        Assert.Empty((await advisories.ForAsync(Image(Bullseye, Deb("libssl1.1", "1.1.1w-0+deb11u1", "openssl")), default))!);
    }

    [Fact]
    public async Task The_source_version_from_dpkg_decides_when_the_binary_version_differs()
    {
        await ImportAsync();

        // bsdutils is 1:2.38.1-5+b1; by its own version (epoch 1) it would look newer than every fix of util-linux.
        var facts = await new ImageAdvisories(_mirror).ForAsync(Image(Bookworm, Deb("bsdutils", "1:2.38.1-5+b1", "util-linux", "2.38.1-5")), default);

        Assert.Equal("DLA-0000-1", Assert.Single(facts!).Id);
    }

    [Fact]
    public async Task Dpkg_packages_of_an_image_that_is_not_debian_are_not_matched_against_debian_records()
    {
        await ImportAsync();

        var facts = await new ImageAdvisories(_mirror).ForAsync(Image(new OsReleaseRecord("etc/os-release", "ubuntu", "22.04"),
            Deb("libssl3", "3.0.2-0ubuntu1", "openssl")), default);

        Assert.Empty(facts!);
    }

    [Fact]
    public async Task An_alpine_package_is_matched_by_origin_in_its_branch_with_apk_ordering()
    {
        await ImportAsync();
        var advisories = new ImageAdvisories(_mirror);

        var affected = await advisories.ForAsync(Image(Alpine319, Apk("libcrypto3", "3.1.4-r0", "openssl")), default);
        var fixedRelease = await advisories.ForAsync(Image(Alpine319, Apk("libcrypto3", "3.1.4-r1", "openssl")), default);
        var otherBranch = await advisories.ForAsync(Image(new OsReleaseRecord("etc/os-release", "alpine", "3.18.4"), Apk("libcrypto3", "3.1.4-r0", "openssl")), default);

        var fact = Assert.Single(affected!);
        Assert.Equal("ALPINE-CVE-0000-0001", fact.Id);
        Assert.StartsWith("openssl 3.1.4-r0 (Alpine:v3.19, source of libcrypto3, layer", fact.Summary);
        Assert.Empty(fixedRelease!);
        Assert.Empty(otherBranch!);
    }

    [Fact]
    public async Task A_python_package_in_an_image_is_matched_in_pypi_by_its_normalised_name()
    {
        await ImportAsync();

        var facts = await new ImageAdvisories(_mirror).ForAsync(Image(Bookworm,
            new ImagePackage(PackageKind.Python, "Requests", "2.30.0", null, "sha256:0123456789abcdef", "usr/lib/python3/dist-packages/requests-2.30.0.dist-info/METADATA")), default);

        var fact = Assert.Single(facts!);
        Assert.Equal("PYSEC-2023-74", fact.Id);
        Assert.StartsWith("requests 2.30.0 (PyPI, layer sha256:0123456789ab…)", fact.Summary);
    }

    [Fact]
    public async Task An_unloaded_mirror_gives_no_answer_rather_than_a_clean_one()
    {
        var facts = await new ImageAdvisories(_mirror).ForAsync(Image(Bookworm, Deb("libssl3", "3.0.11-1~deb12u1", "openssl")), default);

        Assert.Null(facts);
    }

    private static ImageContents Image(OsReleaseRecord os, params ImagePackage[] packages) => new([], packages, os);

    private static ImagePackage Deb(string name, string version, string? source, string? sourceVersion = null) =>
        new(PackageKind.Debian, name, version, source ?? name, "sha256:0123456789abcdef0123", "var/lib/dpkg/status", sourceVersion);

    private static ImagePackage Apk(string name, string version, string origin) =>
        new(PackageKind.Alpine, name, version, origin, "sha256:fedcba9876543210fedc", "lib/apk/db/installed");

    /// <summary>The PyPI fixture records and the OS records in one export, as an import of several OSV exports would hold.</summary>
    private async Task<OsvImportResult> ImportAsync()
    {
        var files = Directory.GetFiles(Path.Combine(OsvFixtures.Folder, "records"), "*.json")
            .Concat(Directory.GetFiles(Path.Combine(OsvFixtures.Folder, "os-records"), "*.json")).Order(StringComparer.Ordinal);
        await using var export = await OsvFixtures.ExportAsync(files.Select(f => (Path.GetFileName(f), File.ReadAllBytes(f))));
        var importer = new OsvImporter(_storage, _mirror, TimeProvider.System, NullLogger<OsvImporter>.Instance);
        return await importer.ImportAsync(export, CancellationToken.None);
    }
}
