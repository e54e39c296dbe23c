using System.Net;
using Azure.Data.Tables;
using Gatehouse.Configuration;
using Gatehouse.Core.Tests.HuggingFace;
using Gatehouse.Storage;
using Gatehouse.Upstream;
using Gatehouse.Vulnerabilities;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Vulnerabilities;

/// <summary>
/// A refresh over several OSV exports (PyPI's and Debian's here) against Azurite: each export is imported on its own,
/// with its own validators, import row and rows, and one failing leaves the others and its own rows alone.
/// </summary>
[Collection(VulnerabilityMirrorTests.TableCollection)]
public sealed class OsvExportsTests : IAsyncLifetime
{
    private const string PyPIUrl = "https://osv.example/PyPI/all.zip";
    private const string DebianUrl = "https://osv.example/Debian/all.zip";

    private static readonly string[] PyPIRows =
        ["123bla/MAL-2024-10238", "gh-dep/PYSEC-0000-GH-DEP-1", "gh-typo/MAL-0000-GH-TYPO-1", "jinja2/PYSEC-2021-66",
         "products-pluggableauthservice/GHSA-p44j-xrqg-4xrr", "requests/PYSEC-2023-74"];

    private static readonly string[] DebianRows = ["Debian:11|openssl/DSA-0000-1", "Debian:12|openssl/DSA-0000-1", "Debian:12|util-linux/DLA-0000-1"];

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly GatehouseStorage _storage = OsvFixtures.Storage();
    private readonly IOptions<GatehouseOptions> _options = Options.Create(new GatehouseOptions { Osv = { ExportUrl = PyPIUrl, ExtraExportUrls = " " + DebianUrl + " " } });
    private readonly VulnerabilityMirror _mirror;
    private readonly OsvImporter _importer;

    /// <summary>What each export serves now: its zip and ETag, or a status to fail with.</summary>
    private readonly Dictionary<string, (byte[]? Zip, string ETag, HttpStatusCode Status)> _served = new(StringComparer.Ordinal);

    public OsvExportsTests()
    {
        _mirror = new VulnerabilityMirror(_storage, new MemoryCache(new MemoryCacheOptions()), _options);
        _importer = new OsvImporter(_storage, _mirror, _time, NullLogger<OsvImporter>.Instance);
    }

    public async Task InitializeAsync()
    {
        await OsvFixtures.EmptyTableAsync(_storage);
        _served[PyPIUrl] = (await File.ReadAllBytesAsync(OsvFixtures.Zip), "\"pypi-1\"", HttpStatusCode.OK);
        _served[DebianUrl] = (await DebianExportAsync(), "\"debian-1\"", HttpStatusCode.OK);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private TableClient Table => _storage.Table(GatehouseStorage.VulnerabilitiesTable);

    [Fact]
    public async Task Both_exports_are_imported_each_with_its_own_import_row_and_the_mirror_is_loaded_only_when_both_were()
    {
        var (refresh, _) = Refresh();
        Assert.False(await _mirror.IsLoadedAsync(CancellationToken.None));

        var result = await refresh.RunAsync(CancellationToken.None);

        Assert.Equal([(PyPIUrl, OsvRefreshStatus.Imported, 6), (DebianUrl, OsvRefreshStatus.Imported, 3)],
            result.Exports.Select(e => (e.Url, e.Status, e.Import!.Upserted)));
        Assert.Equal((OsvRefreshStatus.Imported, 6), (result.Status, result.Import!.Upserted));
        Assert.False(result.AnyFailed);
        Assert.Equal([.. PyPIRows.Concat(DebianRows).Order(StringComparer.Ordinal)], (await RowsAsync()).Select(r => r.Key));
        Assert.All(await RowsAsync(), r => Assert.Equal(r.Key.StartsWith("Debian:", StringComparison.Ordinal) ? DebianUrl : PyPIUrl, r.Source));
        Assert.Equal(("\"pypi-1\"", 6), await ImportOfAsync(refresh, PyPIUrl));
        Assert.Equal(("\"debian-1\"", 3), await ImportOfAsync(refresh, DebianUrl));
        Assert.Equal(PyPIUrl, (await _mirror.GetImportAsync(CancellationToken.None))!.SourceUrl);
        Assert.True(await _mirror.IsLoadedAsync(CancellationToken.None));
        Assert.Equal(_time.GetUtcNow(), await _mirror.LatestImportAsync(CancellationToken.None));
    }

    [Fact]
    public async Task With_only_the_primary_export_imported_the_mirror_is_loaded_for_pypi_lookups_but_not_for_images()
    {
        _served[DebianUrl] = (null, "", HttpStatusCode.ServiceUnavailable);
        var (refresh, _) = Refresh();

        await refresh.RunAsync(CancellationToken.None);

        Assert.NotNull(await _mirror.GetImportAsync(CancellationToken.None));
        // PyPI's facts do not wait for (or depend on) the Debian export; images, whose OS packages need it, do.
        Assert.True(await _mirror.IsLoadedAsync(primaryOnly: true, CancellationToken.None));
        Assert.False(await _mirror.IsLoadedAsync(CancellationToken.None));
        // Another instance, which made no import itself, reads the same from the import rows.
        var other = new VulnerabilityMirror(_storage, new MemoryCache(new MemoryCacheOptions()), _options);
        Assert.False(await other.IsLoadedAsync(CancellationToken.None));
        var otherForPyPI = new VulnerabilityMirror(_storage, new MemoryCache(new MemoryCacheOptions()), _options);
        Assert.True(await otherForPyPI.IsLoadedAsync(primaryOnly: true, CancellationToken.None));
    }

    [Fact]
    public async Task Each_export_asks_with_its_own_validators_and_304_leaves_its_rows_and_import_row_alone()
    {
        var (refresh, hub) = Refresh();
        await refresh.RunAsync(CancellationToken.None);
        var firstImport = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromHours(6));

        var second = await refresh.RunAsync(CancellationToken.None);

        Assert.Equal([OsvRefreshStatus.NotModified, OsvRefreshStatus.NotModified], second.Exports.Select(e => e.Status));
        Assert.Equal([(PyPIUrl, null), (DebianUrl, null), (PyPIUrl, "\"pypi-1\""), (DebianUrl, "\"debian-1\"")], hub.Validators);
        Assert.Equal(firstImport, await _mirror.LatestImportAsync(CancellationToken.None));
        Assert.Equal(9, (await RowsAsync()).Count);
    }

    [Fact]
    public async Task An_import_of_one_export_keeps_the_other_exports_rows_and_a_removed_debian_advisory_goes_with_the_debian_import_only()
    {
        var (refresh, _) = Refresh();
        await refresh.RunAsync(CancellationToken.None);

        // PyPI's export changes (one advisory fewer); Debian's drops DLA-0000-1 but is not asked yet (it answers 304).
        _served[PyPIUrl] = (await ExportAsync(Directory.GetFiles(Path.Combine(OsvFixtures.Folder, "records"), "*.json").Where(f => !f.Contains("PYSEC-2023-74", StringComparison.Ordinal))),
            "\"pypi-2\"", HttpStatusCode.OK);
        var withoutDla = await ExportAsync(OsRecords().Where(f => !f.Contains("DLA-0000-1", StringComparison.Ordinal)));
        var pypi = await refresh.RunAsync(CancellationToken.None);

        Assert.Equal(new OsvImportResult(5, 5, Upserted: 0, Unchanged: 5, Deleted: 1, SkippedInvalid: 0), pypi.Exports[0].Import);
        Assert.Equal(OsvRefreshStatus.NotModified, pypi.Exports[1].Status);
        Assert.Equal([.. PyPIRows.Where(r => r != "requests/PYSEC-2023-74").Concat(DebianRows).Order(StringComparer.Ordinal)], (await RowsAsync()).Select(r => r.Key));

        _served[DebianUrl] = (withoutDla, "\"debian-2\"", HttpStatusCode.OK);
        var debian = await refresh.RunAsync(CancellationToken.None);

        Assert.Equal(OsvRefreshStatus.NotModified, debian.Exports[0].Status);
        Assert.Equal(new OsvImportResult(1, 2, Upserted: 0, Unchanged: 2, Deleted: 1, SkippedInvalid: 0), debian.Exports[1].Import);
        Assert.DoesNotContain("Debian:12|util-linux/DLA-0000-1", (await RowsAsync()).Select(r => r.Key));
        Assert.Equal(7, (await RowsAsync()).Count);
    }

    [Fact]
    public async Task A_failing_export_keeps_its_rows_and_the_others_still_import()
    {
        var (refresh, _) = Refresh();
        await refresh.RunAsync(CancellationToken.None);
        _served[DebianUrl] = (null, "", HttpStatusCode.ServiceUnavailable);
        _served[PyPIUrl] = (await ExportAsync(Directory.GetFiles(Path.Combine(OsvFixtures.Folder, "records"), "*.json").Where(f => !f.Contains("MAL-2024-10238", StringComparison.Ordinal))),
            "\"pypi-2\"", HttpStatusCode.OK);

        var result = await refresh.RunAsync(CancellationToken.None);

        Assert.True(result.AnyFailed);
        Assert.Equal((OsvRefreshStatus.Imported, 1), (result.Status, result.Import!.Deleted));
        var failed = result.Exports[1];
        Assert.Equal((DebianUrl, OsvRefreshStatus.Failed), (failed.Url, failed.Status));
        Assert.Contains("503", failed.Message, StringComparison.Ordinal);
        Assert.Equal(DebianRows, (await RowsAsync()).Select(r => r.Key).Where(k => k.StartsWith("Debian:", StringComparison.Ordinal)));
        Assert.Equal(("\"debian-1\"", 3), await ImportOfAsync(refresh, DebianUrl));
    }

    [Fact]
    public async Task An_export_that_is_not_a_zip_fails_alone()
    {
        _served[DebianUrl] = ("not a zip"u8.ToArray(), "\"broken\"", HttpStatusCode.OK);
        var (refresh, _) = Refresh();

        var result = await refresh.RunAsync(CancellationToken.None);

        Assert.Equal(OsvRefreshStatus.Imported, result.Status);
        Assert.Equal(OsvRefreshStatus.Failed, result.Exports[1].Status);
        Assert.Contains("is not a zip of OSV records", result.Exports[1].Message, StringComparison.Ordinal);
        Assert.Equal(PyPIRows, (await RowsAsync()).Select(r => r.Key));
    }

    [Fact]
    public async Task Legacy_rows_without_a_source_belong_to_the_primary_export_which_writes_its_source_on_them_once()
    {
        // Rows as an import before exports had sources wrote them: no Source.
        await using (var legacy = File.OpenRead(OsvFixtures.Zip))
        {
            await _importer.ImportAsync(legacy, CancellationToken.None);
        }
        Assert.All(await RowsAsync(), r => Assert.Null(r.Source));
        var (refresh, _) = Refresh();

        var first = await refresh.RunAsync(CancellationToken.None);
        _served[PyPIUrl] = _served[PyPIUrl] with { ETag = "\"pypi-2\"" };
        var second = await refresh.RunAsync(CancellationToken.None);

        // The Debian import left them alone; the PyPI import adopted them (rewritten once to record their source), then found them unchanged.
        Assert.Equal(new OsvImportResult(6, 6, Upserted: 6, Unchanged: 0, Deleted: 0, SkippedInvalid: 0), first.Exports[0].Import);
        Assert.Equal(0, first.Exports[1].Import!.Deleted);
        Assert.Equal(new OsvImportResult(6, 6, Upserted: 0, Unchanged: 6, Deleted: 0, SkippedInvalid: 0), second.Exports[0].Import);
        Assert.All((await RowsAsync()).Where(r => !r.Key.StartsWith("Debian:", StringComparison.Ordinal)), r => Assert.Equal(PyPIUrl, r.Source));
    }

    [Fact]
    public async Task The_rows_of_an_export_no_longer_configured_are_the_primary_exports_to_delete()
    {
        var (both, _) = Refresh();
        await both.RunAsync(CancellationToken.None);
        var options = Options.Create(new GatehouseOptions { Osv = { ExportUrl = PyPIUrl, ExtraExportUrls = "" } });
        _served[PyPIUrl] = _served[PyPIUrl] with { ETag = "\"pypi-2\"" };
        var hub = new ExportHub(_served);
        var primaryOnly = new OsvRefresh(hub.Client, _importer, _mirror, options, NullLogger<OsvRefresh>.Instance);

        var result = await primaryOnly.RunAsync(CancellationToken.None);

        Assert.Equal([PyPIUrl], result.Exports.Select(e => e.Url));
        Assert.Equal(3, result.Import!.Deleted);
        Assert.Equal(PyPIRows, (await RowsAsync()).Select(r => r.Key));
    }

    [Fact]
    public void Only_the_configured_exports_hosts_may_be_contacted()
    {
        var options = Options.Create(new GatehouseOptions { Osv = { ExportUrl = PyPIUrl, ExtraExportUrls = "https://debian.example/Debian/all.zip" } });
        var refresh = new OsvRefresh(new ExportHub(_served).Client, _importer, _mirror, options, NullLogger<OsvRefresh>.Instance);

        Assert.True(refresh.Profile.IsAllowed(new Uri("https://osv.example/PyPI/all.zip")));
        Assert.True(refresh.Profile.IsAllowed(new Uri("https://debian.example/Debian/all.zip")));
        Assert.False(refresh.Profile.IsAllowed(new Uri("https://elsewhere.example/Alpine/all.zip")));
        Assert.False(refresh.Profile.IsAllowed(new Uri("ftp://osv.example/PyPI/all.zip")));
    }

    [Fact]
    public void The_default_exports_are_OSVs_PyPI_Debian_and_Alpine_dumps_and_an_empty_setting_disables_the_extra_ones()
    {
        Assert.Equal(
            ["https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip", "https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip",
             "https://osv-vulnerabilities.storage.googleapis.com/Alpine/all.zip"],
            new GatehouseOptions().Osv.ExportUrls());
        Assert.Equal([PyPIUrl], new GatehouseOptions { Osv = { ExportUrl = PyPIUrl, ExtraExportUrls = "" } }.Osv.ExportUrls());
        Assert.Null(Validate(null));
        Assert.Null(Validate(""));
    }

    [Theory]
    [InlineData("not-a-url")]
    [InlineData("ftp://osv.example/Debian/all.zip")]
    [InlineData("https://osv.example/Debian/all.zip /relative/all.zip")]
    [InlineData("https://osv.example/Debian/all.zip https://osv.example/Debian/all.zip")]
    [InlineData("https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip")]
    public void A_bad_extra_export_setting_is_refused_at_start_with_the_settings_name(string extra)
    {
        var error = Validate(extra);

        Assert.NotNull(error);
        Assert.Contains("Gatehouse:Osv:ExtraExportUrls", error, StringComparison.Ordinal);
    }

    /// <summary>The start-up validation's message for <paramref name="extra"/> as <c>Gatehouse:Osv:ExtraExportUrls</c> (null: the default), or null when it passes.</summary>
    private static string? Validate(string? extra)
    {
        var settings = new Dictionary<string, string?> { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" };
        if (extra is not null)
        {
            settings["Gatehouse:Osv:ExtraExportUrls"] = extra;
        }
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var services = new ServiceCollection().AddLogging().AddGatehouse(configuration).BuildServiceProvider();
        try
        {
            _ = services.GetRequiredService<IOptions<GatehouseOptions>>().Value;
            return null;
        }
        catch (OptionsValidationException e)
        {
            return e.Message;
        }
    }

    private (OsvRefresh Refresh, ExportHub Hub) Refresh()
    {
        var hub = new ExportHub(_served);
        return (new OsvRefresh(hub.Client, _importer, _mirror, _options, NullLogger<OsvRefresh>.Instance), hub);
    }

    private async Task<(string? ETag, int Projects)> ImportOfAsync(OsvRefresh refresh, string url)
    {
        var meta = await _mirror.GetImportAsync(refresh.SourceFor(new Uri(url)), CancellationToken.None);
        Assert.NotNull(meta);
        Assert.Equal(url, meta.SourceUrl);
        return (meta.ETag, meta.Projects);
    }

    private static IEnumerable<string> OsRecords() =>
        Directory.GetFiles(Path.Combine(OsvFixtures.Folder, "os-records"), "*.json").Where(f => !Path.GetFileName(f).StartsWith("ALPINE-", StringComparison.Ordinal));

    /// <summary>Debian's export: the Debian records of the OS fixtures (as the committed debian-fixture.zip holds them).</summary>
    private static Task<byte[]> DebianExportAsync() => ExportAsync(OsRecords());

    private static async Task<byte[]> ExportAsync(IEnumerable<string> files)
    {
        await using var zip = await OsvFixtures.ExportAsync(files.Order(StringComparer.Ordinal).Select(f => (Path.GetFileName(f), File.ReadAllBytes(f))));
        return zip.ToArray();
    }

    private async Task<List<(string Key, string? Source)>> RowsAsync()
    {
        var rows = new List<(string, string?)>();
        await foreach (var row in Table.QueryAsync<TableEntity>(e => e.PartitionKey != "_meta", select: ["PartitionKey", "RowKey", "Source"]))
        {
            rows.Add((row.PartitionKey + "/" + Uri.UnescapeDataString(row.RowKey), row.GetString("Source")));
        }
        return [.. rows.OrderBy(r => r.Item1, StringComparer.Ordinal)];
    }

    /// <summary>OSV's bucket as the tests set it: each export's zip with its ETag, 304 to a matching If-None-Match.</summary>
    private sealed class ExportHub
    {
        private readonly RecordingHub _hub;
        private readonly List<(string Url, string? IfNoneMatch)> _validators = [];

        public ExportHub(Dictionary<string, (byte[]? Zip, string ETag, HttpStatusCode Status)> served)
        {
            _hub = new RecordingHub(request =>
            {
                _validators.Add((request.RequestUri!.AbsoluteUri, request.Headers.IfNoneMatch.FirstOrDefault()?.Tag));
                var (zip, etag, status) = served[request.RequestUri!.AbsoluteUri];
                if (zip is null)
                {
                    return new HttpResponseMessage(status);
                }
                return request.Headers.IfNoneMatch.Any(t => t.Tag == etag)
                    ? new HttpResponseMessage(HttpStatusCode.NotModified)
                    : new HttpResponseMessage(status) { Content = new ByteArrayContent(zip), Headers = { ETag = new(etag) } };
            });
        }

        public UpstreamClient Client => _hub.Client;

        /// <summary>Each request's URL and If-None-Match, in order.</summary>
        public IReadOnlyList<(string Url, string? IfNoneMatch)> Validators => _validators;
    }
}
