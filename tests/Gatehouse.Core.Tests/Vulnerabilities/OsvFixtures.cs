using System.IO.Compression;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.Configuration;
using Gatehouse.Storage;
using Gatehouse.TestHelpers;
using Gatehouse.Tests.Shared;
using Gatehouse.Vulnerabilities;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

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

    /// <summary>Storage on the tests' Azurite.</summary>
    public static GatehouseStorage Storage()
    {
        var connection = TestAzurite.ConnectionString;
        return new GatehouseStorage(new BlobServiceClient(connection), new TableServiceClient(connection));
    }

    /// <summary>A mirror over <paramref name="storage"/> with the default options and its own cache.</summary>
    public static VulnerabilityMirror Mirror(GatehouseStorage storage) =>
        new(storage, new MemoryCache(new MemoryCacheOptions()), Options.Create(new GatehouseOptions()));

    /// <summary>Creates the <c>vulnerabilities</c> table if needed and deletes every row, so a test starts from an empty mirror.</summary>
    public static async Task EmptyTableAsync(GatehouseStorage storage)
    {
        var table = storage.Table(GatehouseStorage.VulnerabilitiesTable);
        await table.CreateIfNotExistsAsync();
        await foreach (var row in table.QueryAsync<TableEntity>(select: ["PartitionKey", "RowKey"]))
        {
            await table.DeleteEntityAsync(row.PartitionKey, row.RowKey);
        }
    }

    /// <summary>An export in OSV's layout (one file per record) holding <paramref name="files"/>, positioned at its start.</summary>
    public static async Task<MemoryStream> ExportAsync(IEnumerable<(string Name, byte[] Data)> files)
    {
        var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, data) in files)
            {
                await using var entry = zip.CreateEntry(name).Open();
                await entry.WriteAsync(data);
            }
        }
        buffer.Position = 0;
        return buffer;
    }
}
