using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using Gatehouse.Storage;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Uploads;

/// <summary>How the standalone host notices uploads (Azurite raises no Event Grid events and has no change feed).</summary>
public sealed class UploadsOptions
{
    public const string Section = "Gatehouse:Uploads";

    /// <summary>Seconds between two listings of <c>uploads</c> by the standalone host's watcher; 0 turns the watcher off.</summary>
    public int WatchSeconds { get; set; } = 5;
}

/// <summary>
/// The standalone host's stand-in for the Event Grid trigger: lists <c>uploads</c> and starts the scan of every blob
/// version (name + ETag) not seen before. What was seen is checkpointed in the table <c>uploadsseen</c> (one row per
/// blob name, by a hash of the name, holding the ETag last started), written after the start, so a restart neither
/// misses a version nor starts one twice: a version started but not yet checkpointed when the host died is started
/// again under the same instance id (<see cref="UploadScans.InstanceId"/>), which finds it already there.
/// </summary>
public sealed class UploadWatcher(UploadsRemote remote, GatehouseStorage storage, ILogger<UploadWatcher> log)
{
    /// <summary>The checkpoint table (created on first use; only the standalone host needs it).</summary>
    public const string CheckpointTable = "uploadsseen";

    private const string Partition = "seen";

    private readonly TableClient _seen = storage.Table(CheckpointTable);
    private bool _created;

    /// <summary>One pass over the container; how many scans it started.</summary>
    public async Task<int> PollAsync(IUploadScans scans, CancellationToken cancellationToken)
    {
        if (!_created)
        {
            await _seen.CreateIfNotExistsAsync(cancellationToken);
            _created = true;
        }
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        await foreach (var row in _seen.QueryAsync<TableEntity>(e => e.PartitionKey == Partition, select: ["RowKey", "BlobETag"], cancellationToken: cancellationToken))
        {
            seen[row.RowKey] = row.GetString("BlobETag") ?? "";
        }
        var started = 0;
        await foreach (var blob in remote.Container.GetBlobsAsync(cancellationToken: cancellationToken))
        {
            var etag = blob.Properties.ETag is { } version ? UploadScans.VersionOf(version) : "";
            var row = RowOf(blob.Name);
            if (seen.TryGetValue(row, out var known) && known == etag)
            {
                continue;
            }
            if (UploadPath.Parse(blob.Name) is null)
            {
                log.LogWarning("Upload {BlobName} does not follow the uploads layout; it is not scanned or served", blob.Name);
            }
            else if (await scans.StartAsync(blob.Name, etag, cancellationToken))
            {
                started++;
            }
            await _seen.UpsertEntityAsync(new TableEntity(Partition, row) { ["BlobName"] = blob.Name, ["BlobETag"] = etag }, TableUpdateMode.Replace, cancellationToken);
        }
        return started;
    }

    /// <summary>A blob name may be longer than a row key may be: rows are keyed by a hash of it.</summary>
    private static string RowOf(string blobName) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(blobName)));
}
