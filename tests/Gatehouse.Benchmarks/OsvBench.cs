using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.Configuration;
using Gatehouse.Storage;
using Gatehouse.Vulnerabilities;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Gatehouse.Benchmarks;

/// <summary>The product's OSV importer over a storage account, as the host builds it (the mirror's caches are this process's own).</summary>
public static class OsvBench
{
    public static OsvImporter Importer(string connectionString)
    {
        var storage = new GatehouseStorage(new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        var mirror = new VulnerabilityMirror(storage, new MemoryCache(new MemoryCacheOptions()), Options.Create(new GatehouseOptions()));
        return new OsvImporter(storage, mirror, TimeProvider.System, NullLogger<OsvImporter>.Instance);
    }
}
