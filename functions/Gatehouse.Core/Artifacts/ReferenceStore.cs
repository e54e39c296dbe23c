using Azure.Data.Tables;
using Gatehouse.Scans;
using Gatehouse.Storage;

namespace Gatehouse.Artifacts;

/// <summary>
/// References: which registry file maps to which content (PyPI project/file → sha256, upstream URL, upload time),
/// with the decision copied in so an index page can hide refused files with one partition query.
/// </summary>
public sealed class ReferenceStore
{
    private readonly TableClient _table;

    public ReferenceStore(GatehouseStorage storage) => _table = storage.Table(GatehouseStorage.ReferencesTable);

    public static string PyPIPartition(string project) => "pypi:" + project;

    public async Task RecordAsync(ArtifactReference reference, CancellationToken cancellationToken)
    {
        var entity = new TableEntity(reference.Partition, reference.Key)
        {
            ["Sha256"] = reference.Sha256,
            ["UpstreamUrl"] = reference.UpstreamUrl,
            ["UploadTime"] = reference.UploadTime,
            ["Size"] = reference.Size,
        };
        if (reference.HubEtag is not null)
        {
            entity["HubEtag"] = reference.HubEtag;
        }
        // Merge keeps a decision already recorded for this file.
        await _table.UpsertEntityAsync(entity, TableUpdateMode.Merge, cancellationToken);
    }

    public async Task<ArtifactReference?> GetAsync(string partition, string fileName, CancellationToken cancellationToken)
    {
        var found = await _table.GetEntityIfExistsAsync<TableEntity>(partition, fileName, cancellationToken: cancellationToken);
        if (!found.HasValue || found.Value is null)
        {
            return null;
        }
        var e = found.Value;
        return new ArtifactReference(partition, fileName, e.GetString("Sha256"), e.GetString("UpstreamUrl"), e.GetString("UploadTime"), e.GetInt64("Size") ?? 0,
            HubEtag: e.GetString("HubEtag"));
    }

    /// <summary>Copies a decision onto every reference to that content within the partition.</summary>
    public async Task SetDecisionAsync(string partition, string sha256, Decision decision, string reason, CancellationToken cancellationToken)
    {
        await foreach (var e in _table.QueryAsync<TableEntity>(x => x.PartitionKey == partition, cancellationToken: cancellationToken))
        {
            if (e.GetString("Sha256") != sha256)
            {
                continue;
            }
            e["Decision"] = decision.ToString();
            e["Reason"] = reason;
            await _table.UpdateEntityAsync(e, e.ETag, TableUpdateMode.Merge, cancellationToken);
        }
    }

    /// <summary>File names in the partition whose content was refused, with the reason.</summary>
    public async Task<IReadOnlyDictionary<string, string>> RefusedAsync(string partition, CancellationToken cancellationToken)
    {
        var refused = new Dictionary<string, string>(StringComparer.Ordinal);
        await foreach (var e in _table.QueryAsync<TableEntity>(x => x.PartitionKey == partition, select: ["RowKey", "Decision", "Reason"], cancellationToken: cancellationToken))
        {
            var decision = e.GetString("Decision");
            if (decision is not null && decision != nameof(Decision.Allowed))
            {
                refused[e.RowKey] = e.GetString("Reason") ?? decision;
            }
        }
        return refused;
    }
}

/// <summary>
/// One registry file pointing at one content. The table row is <paramref name="RowKey"/> when given (Hugging Face:
/// <c>{commit}/{path}</c>, escaped), else <paramref name="FileName"/> (PyPI). <paramref name="HubEtag"/> is the etag Hugging
/// Face clients key a file by: the git sha1 (40 hex, <c>ETag</c>) of a regular file, the sha256 (64 hex, <c>X-Linked-Etag</c>)
/// of an LFS file; null for PyPI.
/// </summary>
public sealed record ArtifactReference(string Partition, string FileName, string Sha256, string UpstreamUrl, string? UploadTime, long Size, string? RowKey = null,
    string? HubEtag = null)
{
    /// <summary>The table row key of this reference.</summary>
    public string Key => RowKey ?? FileName;
}
