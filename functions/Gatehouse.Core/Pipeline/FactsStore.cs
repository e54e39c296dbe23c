using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Gatehouse.Scans;
using Gatehouse.Scans.Archives;
using Gatehouse.Storage;

namespace Gatehouse.Pipeline;

/// <summary>Where the facts about contents are kept.</summary>
public interface IFactsStore
{
    /// <summary>The facts recorded for a content, of any version; null when it was never scanned under this schema.</summary>
    Task<ContentFacts?> GetAsync(string sha256, CancellationToken cancellationToken);

    Task SaveAsync(ContentFacts facts, IReadOnlyList<CheckResult> results, CancellationToken cancellationToken);

    /// <summary>Records that the content's blob now lives in <paramref name="container"/>.</summary>
    Task MoveAsync(string sha256, string container, CancellationToken cancellationToken);

    /// <summary>Drops a content's facts (its blob is gone): the next request scans it again.</summary>
    Task ForgetAsync(string sha256, CancellationToken cancellationToken);

    /// <summary>The full report of the content's last scan (its facts and each check's result), for a reviewer; null when there is none.</summary>
    Task<JsonNode?> ReportAsync(string sha256, CancellationToken cancellationToken);
}

/// <summary>
/// Facts in Table Storage, one row per content (partition = sha256, row <c>facts</c>) in the <c>verdicts</c> table; the
/// full report goes to <c>reports/{sha256}.json</c>. Rows of the earlier per-content verdicts (row <c>verdict</c>) are
/// never read: those contents are judged again.
/// </summary>
public sealed class FactsStore : IFactsStore
{
    private const string Row = "facts";
    private const int MaxFindingsJson = 30_000;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly TableClient _table;
    private readonly GatehouseStorage _storage;

    public FactsStore(GatehouseStorage storage)
    {
        _storage = storage;
        _table = storage.Table(GatehouseStorage.VerdictsTable);
    }

    public async Task<ContentFacts?> GetAsync(string sha256, CancellationToken cancellationToken)
    {
        var found = await _table.GetEntityIfExistsAsync<TableEntity>(sha256, Row, cancellationToken: cancellationToken);
        if (!found.HasValue || found.Value is null)
        {
            return null;
        }
        var e = found.Value;
        return new ContentFacts(
            sha256,
            e.GetInt64("Size") ?? 0,
            e.GetInt32("Version") ?? 0,
            Enum.TryParse<ArchiveFormat>(e.GetString("Archive"), out var archive) ? archive : ArchiveFormat.Unknown,
            e.GetBoolean("IsWheel") ?? false,
            e.GetString("ModelFormat") ?? "",
            Read<List<Finding>>(e.GetString("Findings")) ?? [],
            Read<List<CheckError>>(e.GetString("Errors")) ?? [],
            e.GetString("Container") ?? GatehouseStorage.QuarantineContainer,
            e.GetDateTimeOffset("ScannedAt") ?? DateTimeOffset.MinValue);
    }

    public async Task SaveAsync(ContentFacts facts, IReadOnlyList<CheckResult> results, CancellationToken cancellationToken)
    {
        var report = JsonSerializer.SerializeToUtf8Bytes(new { facts, results }, Json);
        await Report(facts.Sha256).UploadAsync(new BinaryData(report), overwrite: true, cancellationToken);
        var findings = JsonSerializer.Serialize(facts.Findings, Json);
        if (findings.Length > MaxFindingsJson)
        {
            // The row keeps the worst findings that fit; the report has them all.
            findings = JsonSerializer.Serialize(facts.Findings.OrderByDescending(f => f.Severity).Take(50), Json);
        }
        var entity = new TableEntity(facts.Sha256, Row)
        {
            ["Size"] = facts.Size,
            ["Version"] = facts.Version,
            ["Archive"] = facts.Archive.ToString(),
            ["IsWheel"] = facts.IsWheel,
            ["ModelFormat"] = facts.ModelFormat,
            ["Findings"] = findings.Length <= MaxFindingsJson ? findings : "[]",
            ["Errors"] = JsonSerializer.Serialize(facts.Errors, Json),
            ["Container"] = facts.Container,
            ["ScannedAt"] = facts.ScannedAt,
        };
        await _table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken);
    }

    public Task MoveAsync(string sha256, string container, CancellationToken cancellationToken) =>
        _table.UpdateEntityAsync(new TableEntity(sha256, Row) { ["Container"] = container }, Azure.ETag.All, TableUpdateMode.Merge, cancellationToken);

    public async Task ForgetAsync(string sha256, CancellationToken cancellationToken)
    {
        try
        {
            await _table.DeleteEntityAsync(sha256, Row, cancellationToken: cancellationToken);
        }
        catch (Azure.RequestFailedException e) when (e.Status == 404)
        {
        }
    }

    public async Task<JsonNode?> ReportAsync(string sha256, CancellationToken cancellationToken)
    {
        try
        {
            var report = await Report(sha256).DownloadContentAsync(cancellationToken);
            return JsonNode.Parse(report.Value.Content.ToMemory().Span);
        }
        catch (Azure.RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    private Azure.Storage.Blobs.BlobClient Report(string sha256) => _storage.Container(GatehouseStorage.ReportsContainer).GetBlobClient($"{sha256}.json");

    private static T? Read<T>(string? json) where T : class => json is null ? null : JsonSerializer.Deserialize<T>(json, Json);
}
