using System.Security.Cryptography;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Gatehouse.HuggingFace;

namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Reads what Gatehouse left in storage: facts and reference rows, content-addressed blobs, the audit, and the Durable task hub's
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

    /// <summary>The facts recorded for a content (row <c>facts</c> of its <c>verdicts</c> partition), or null.</summary>
    public async Task<TableEntity?> FactsAsync(string sha256)
    {
        var found = await _tables.GetTableClient("verdicts").GetEntityIfExistsAsync<TableEntity>(sha256, "facts");
        return found.HasValue ? found.Value : null;
    }

    /// <summary>A reference row (with its Decision, Rule and Reason), or null; keys as Gatehouse writes them.</summary>
    public async Task<TableEntity?> ReferenceAsync(string partition, string row)
    {
        var found = await _tables.GetTableClient("references").GetEntityIfExistsAsync<TableEntity>(partition, row);
        return found.HasValue ? found.Value : null;
    }

    /// <summary>The reference of a PyPI file: partition <c>pypi:{project}</c>, row the file name.</summary>
    public Task<TableEntity?> PyPIReferenceAsync(string project, string filename) => ReferenceAsync("pypi:" + project, filename);

    /// <summary>The reference of a Hugging Face file at a commit, keyed as Gatehouse keys it.</summary>
    public Task<TableEntity?> HfReferenceAsync(string repoId, string commit, string path, bool dataset = false) =>
        ReferenceAsync(HfFileDigests.ReferencePartition(dataset ? "datasets" : "models", repoId), HfFileDigests.ReferenceRowKey(commit, path));

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
    /// Forgets everything Gatehouse found, decided and stored about one content: its facts, its scan claim, every
    /// reference to it (and their decisions), its blobs and its report. Used only for fixed fixture content (e.g.
    /// gh-evil) when the test Azurite is reused between runs, so a test sees the content cold, as on a fresh account.
    /// </summary>
    public async Task ForgetContentAsync(string sha256)
    {
        var contents = _tables.GetTableClient("verdicts");
        var references = _tables.GetTableClient("references");
        await foreach (var row in contents.QueryAsync<TableEntity>(e => e.PartitionKey == sha256))
        {
            if (row.RowKey.StartsWith("ref:", StringComparison.Ordinal))
            {
                try
                {
                    await references.DeleteEntityAsync(row.GetString("Partition"), row.GetString("Row"));
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                }
            }
            await contents.DeleteEntityAsync(row.PartitionKey, row.RowKey);
        }
        foreach (var container in new[] { Staging, Artifacts, Quarantine })
        {
            await _blobs.GetBlobContainerClient(container).GetBlobClient(sha256).DeleteIfExistsAsync();
        }
        await _blobs.GetBlobContainerClient("reports").GetBlobClient(sha256 + ".json").DeleteIfExistsAsync();
    }

    /// <summary>The details of the audit rows of <paramref name="action"/> whose subject names <paramref name="sha256"/> (today's and yesterday's).</summary>
    public async Task<IReadOnlyList<string>> AuditDetailsAsync(string action, string sha256)
    {
        var table = _tables.GetTableClient("audit");
        var details = new List<string>();
        foreach (var day in new[] { DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow })
        {
            var partition = day.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);
            await foreach (var row in table.QueryAsync<TableEntity>(e => e.PartitionKey == partition))
            {
                if (row.GetString("Action") == action && (row.GetString("Subject") ?? "").Contains(sha256, StringComparison.Ordinal))
                {
                    details.Add(row.GetString("Detail") ?? "");
                }
            }
        }
        return details;
    }

    /// <summary>
    /// The count of audit rows of <paramref name="action"/> ("facts", "decision", "event", …) from yesterday and today (UTC) whose subject contains
    /// <paramref name="sha256"/> (any text that names the subject) and, when given, whose detail starts with
    /// <paramref name="detailPrefix"/> (an event row's detail starts with its type).
    /// </summary>
    public async Task<int> AuditCountAsync(string action, string sha256, string? detailPrefix = null) =>
        (await AuditDetailsAsync(action, sha256)).Count(d => detailPrefix is null || d.StartsWith(detailPrefix, StringComparison.Ordinal));

    /// <summary>
    /// What is wrong with the content Gatehouse keeps, in the whole account: a <c>facts</c> row of the <c>verdicts</c>
    /// table whose blob is not in the <c>Container</c> it names, and a committed
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
                if (row.RowKey != "facts" || row.GetString("Container") is not { } container)
                {
                    continue; // not a row that places content (claims, reverse references)
                }
                if (!await BlobExistsAsync(container, row.PartitionKey))
                {
                    problems.Add($"facts of {row.PartitionKey} place it in {container}, where there is no such blob");
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
