using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Gatehouse.Scans;
using Gatehouse.Storage;

namespace Gatehouse.Verdicts;

/// <summary>Verdicts keyed by sha256 in Table Storage; the full report goes to the <c>reports</c> container.</summary>
public sealed class VerdictStore
{
    private const string Row = "verdict";
    private const int MaxFindingsJson = 30_000;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly TableClient _table;
    private readonly GatehouseStorage _storage;

    public VerdictStore(GatehouseStorage storage)
    {
        _storage = storage;
        _table = storage.Table(GatehouseStorage.VerdictsTable);
    }

    public async Task<StoredVerdict?> GetAsync(string sha256, CancellationToken cancellationToken)
    {
        var found = await _table.GetEntityIfExistsAsync<TableEntity>(sha256, Row, cancellationToken: cancellationToken);
        if (!found.HasValue || found.Value is null)
        {
            return null;
        }
        var e = found.Value;
        return new StoredVerdict(
            sha256,
            Enum.Parse<Decision>(e.GetString("Decision")),
            e.GetString("Rule"),
            e.GetString("Reason"),
            e.GetString("Subject"),
            e.GetString("FileName"),
            e.GetInt64("Size") ?? 0,
            e.GetDateTimeOffset("DecidedAt") ?? DateTimeOffset.MinValue);
    }

    /// <summary>Writes (or overwrites) the verdict row and the full JSON report.</summary>
    public async Task SaveAsync(ScanRequest request, Verdict verdict, IReadOnlyList<CheckResult> results, DateTimeOffset decidedAt, CancellationToken cancellationToken)
    {
        var report = JsonSerializer.SerializeToUtf8Bytes(new { request, verdict, results, decidedAt }, Json);
        await _storage.Container(GatehouseStorage.ReportsContainer).GetBlobClient($"{verdict.Sha256}.json")
            .UploadAsync(new BinaryData(report), overwrite: true, cancellationToken);
        var findings = JsonSerializer.Serialize(verdict.Findings, Json);
        var entity = new TableEntity(verdict.Sha256, Row)
        {
            ["Decision"] = verdict.Decision.ToString(),
            ["Rule"] = verdict.Rule,
            ["Reason"] = verdict.Reason,
            ["Subject"] = request.Subject,
            ["FileName"] = request.FileName,
            ["Ecosystem"] = request.Ecosystem,
            ["Size"] = request.Size,
            ["Findings"] = findings.Length <= MaxFindingsJson ? findings : findings[..MaxFindingsJson],
            ["DecidedAt"] = decidedAt,
        };
        await _table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken);
    }
}

/// <summary>A verdict as read back for serving.</summary>
public sealed record StoredVerdict(string Sha256, Decision Decision, string Rule, string Reason, string Subject, string FileName, long Size, DateTimeOffset DecidedAt)
{
    public bool IsAllowed => Decision == Decision.Allowed;
}
