using System.Security.Cryptography;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;

namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Reads what Gatehouse left in storage: verdict rows, content-addressed blobs, and the Durable task hub's
/// Instances and History tables (DurableTask.AzureStorage layout: partition key = instance id).
/// </summary>
public sealed class StorageProbe
{
    public const string Staging = "staging";
    public const string Artifacts = "artifacts";
    public const string Quarantine = "quarantine";

    private readonly BlobServiceClient _blobs;
    private readonly TableServiceClient _tables;

    public StorageProbe(string connectionString)
    {
        _blobs = new BlobServiceClient(connectionString);
        _tables = new TableServiceClient(connectionString);
    }

    /// <summary>The row in <c>verdicts</c> for a content, or null.</summary>
    public async Task<TableEntity?> VerdictAsync(string sha256)
    {
        var found = await _tables.GetTableClient("verdicts").GetEntityIfExistsAsync<TableEntity>(sha256, "verdict");
        return found.HasValue ? found.Value : null;
    }

    /// <summary>True when a committed blob named by the sha256 exists in the container.</summary>
    public async Task<bool> BlobExistsAsync(string container, string sha256)
    {
        try
        {
            return await _blobs.GetBlobContainerClient(container).GetBlobClient(sha256).ExistsAsync();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false; // the container itself does not exist
        }
    }

    /// <summary>The orchestration instance row (<c>&lt;hub&gt;Instances</c>) for an instance id, or null.</summary>
    public async Task<TableEntity?> InstanceAsync(string hub, string instanceId)
    {
        try
        {
            var found = await _tables.GetTableClient(hub + "Instances").GetEntityIfExistsAsync<TableEntity>(instanceId, "");
            return found.HasValue ? found.Value : null;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Every history event row (<c>&lt;hub&gt;History</c>) of an instance.</summary>
    public async Task<IReadOnlyList<TableEntity>> HistoryAsync(string hub, string instanceId)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in _tables.GetTableClient(hub + "History").QueryAsync<TableEntity>(e => e.PartitionKey == instanceId))
        {
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>
    /// Forgets everything Gatehouse decided and stored about one content: its verdict row, its references in the
    /// project's partition, its blobs and its report. Used only for fixed fixture content (e.g. gh-evil) when the test
    /// Azurite is reused between runs, so a test sees the content cold, as on a fresh account.
    /// </summary>
    public async Task ForgetContentAsync(string sha256, string pypiProject)
    {
        try
        {
            await _tables.GetTableClient("verdicts").DeleteEntityAsync(sha256, "verdict");
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
        }
        var references = _tables.GetTableClient("references");
        var partition = "pypi:" + pypiProject;
        await foreach (var row in references.QueryAsync<TableEntity>(e => e.PartitionKey == partition))
        {
            if (row.GetString("Sha256") == sha256)
            {
                await references.DeleteEntityAsync(row.PartitionKey, row.RowKey);
            }
        }
        foreach (var container in new[] { Staging, Artifacts, Quarantine })
        {
            await _blobs.GetBlobContainerClient(container).GetBlobClient(sha256).DeleteIfExistsAsync();
        }
        await _blobs.GetBlobContainerClient("reports").GetBlobClient(sha256 + ".json").DeleteIfExistsAsync();
    }

    /// <summary>Audit rows written for a verdict on this content (action "verdict", subject naming the sha256), today and yesterday (UTC).</summary>
    public Task<int> VerdictAuditCountAsync(string sha256) => AuditCountAsync(sha256, "verdict");

    /// <summary>Audit rows of any of <paramref name="actions"/> whose subject names the sha256, today and yesterday (UTC).</summary>
    public async Task<int> AuditCountAsync(string sha256, params string[] actions)
    {
        var table = _tables.GetTableClient("audit");
        var today = DateTimeOffset.UtcNow;
        var count = 0;
        foreach (var day in new[] { today.AddDays(-1), today })
        {
            var partition = day.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);
            await foreach (var row in table.QueryAsync<TableEntity>(e => e.PartitionKey == partition))
            {
                if (actions.Contains(row.GetString("Action")) && (row.GetString("Subject") ?? "").Contains(sha256, StringComparison.Ordinal))
                {
                    count++;
                }
            }
        }
        return count;
    }

    /// <summary>
    /// What is wrong with the content Gatehouse keeps, in the whole account: a row of the <c>verdicts</c> table (a
    /// <c>verdict</c> row, or a <c>facts</c> row naming its <c>Container</c>) whose blob is not there, and a committed
    /// blob in <c>staging</c>, <c>artifacts</c> or <c>quarantine</c> whose sha256 is not its name (each is downloaded and
    /// hashed). Empty when all is well. Meant for an account of the test's own (<see cref="PrivateAzurite"/>): it reads everything.
    /// </summary>
    public async Task<IReadOnlyList<string>> ContentProblemsAsync()
    {
        var problems = new List<string>();
        try
        {
            await foreach (var row in _tables.GetTableClient("verdicts").QueryAsync<TableEntity>())
            {
                var container = row.RowKey switch
                {
                    "verdict" => row.GetString("Decision") == "Allowed" ? Artifacts : Quarantine,
                    _ => row.GetString("Container"),
                };
                if (container is null)
                {
                    continue; // not a row that places content
                }
                if (!await BlobExistsAsync(container, row.PartitionKey))
                {
                    problems.Add($"verdicts row {row.PartitionKey}/{row.RowKey} ({row.GetString("Decision") ?? container}) has no blob in {container}");
                }
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // No verdicts table: nothing was decided.
        }
        foreach (var name in new[] { Staging, Artifacts, Quarantine })
        {
            var container = _blobs.GetBlobContainerClient(name);
            if (!await container.ExistsAsync())
            {
                continue;
            }
            await foreach (var blob in container.GetBlobsAsync())
            {
                await using var content = await container.GetBlobClient(blob.Name).OpenReadAsync();
                var sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(content));
                if (sha256 != blob.Name)
                {
                    problems.Add($"{name}/{blob.Name} ({blob.Properties.ContentLength} bytes) holds content whose sha256 is {sha256}");
                }
            }
        }
        return problems;
    }
}
