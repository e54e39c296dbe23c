using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;

namespace Gatehouse.TestHelpers;

/// <summary>One seeded PyPI reference: its project, file name and content.</summary>
public sealed record SeededVerdict(string Project, string FileName, string Sha256)
{
    /// <summary>The reference's partition in the <c>references</c> table.</summary>
    public string Partition => "pypi:" + Project;
}

/// <summary>
/// Cached verdicts written straight into storage, as Gatehouse records them (a <c>references</c> row with its decision,
/// a <c>facts</c> row per content in <c>verdicts</c>), so a rescan has many to evaluate without downloading anything.
/// </summary>
public static class CachedVerdicts
{
    /// <summary>
    /// Seeds <paramref name="count"/> allowed references spread over <paramref name="projects"/> projects named
    /// <paramref name="prefix"/>-N, each with its own content whose facts (of <paramref name="factsVersion"/>, no findings)
    /// place it in <paramref name="container"/>; every decision (allowed by <c>policy.clean</c>, as a clean file is) is
    /// recorded under <paramref name="policyVersion"/>. The content lists its reference (row <c>ref:…</c>) as Gatehouse
    /// records it. No blob is written: a rescan that moves one fails for it.
    /// </summary>
    public static async Task<IReadOnlyList<SeededVerdict>> SeedAsync(string connectionString, string prefix, int count, string policyVersion, int factsVersion,
        string container, int projects = 50)
    {
        var tables = new TableServiceClient(connectionString);
        var references = tables.GetTableClient("references");
        var verdicts = tables.GetTableClient("verdicts");
        await references.CreateIfNotExistsAsync();
        await verdicts.CreateIfNotExistsAsync();
        var decidedAt = DateTimeOffset.UtcNow.AddDays(-1);
        var seeded = Enumerable.Range(0, count).Select(i =>
        {
            var project = $"{prefix}-{(i % projects).ToString(CultureInfo.InvariantCulture)}";
            var file = $"{project.Replace('-', '_')}-1.0.{i.ToString(CultureInfo.InvariantCulture)}-py3-none-any.whl";
            return new SeededVerdict(project, file, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(prefix + "/" + file))));
        }).ToList();
        foreach (var partition in seeded.GroupBy(s => s.Partition))
        {
            // A transaction holds at most 100 operations on one partition.
            foreach (var chunk in partition.Chunk(100))
            {
                await references.SubmitTransactionAsync(chunk.Select(s => new TableTransactionAction(TableTransactionActionType.UpsertReplace,
                    new TableEntity(s.Partition, s.FileName)
                    {
                        ["Remote"] = "pypi",
                        ["Subject"] = $"{s.Project} 1.0",
                        ["FileName"] = s.FileName,
                        ["Sha256"] = s.Sha256,
                        ["Size"] = 1024L,
                        ["UpstreamUrl"] = $"https://files.example/{s.FileName}",
                        ["Decision"] = "Allowed",
                        ["Rule"] = "policy.clean",
                        ["Reason"] = "seeded",
                        ["PolicyVersion"] = policyVersion,
                        ["PolicyRule"] = "default",
                        ["DecidedAt"] = decidedAt,
                    })));
            }
        }
        await Parallel.ForEachAsync(seeded, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (s, ct) =>
        {
            var row = "ref:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s.Partition + "\n" + s.FileName)))[..32];
            await verdicts.UpsertEntityAsync(new TableEntity(s.Sha256, row) { ["Partition"] = s.Partition, ["Row"] = s.FileName }, TableUpdateMode.Replace, ct);
            await verdicts.UpsertEntityAsync(new TableEntity(s.Sha256, "facts")
            {
                ["Size"] = 1024L,
                ["Version"] = factsVersion,
                ["Archive"] = "Zip",
                ["IsWheel"] = true,
                ["ModelFormat"] = "data",
                ["Findings"] = "[]",
                ["Errors"] = "[]",
                ["Container"] = container,
                ["ScannedAt"] = decidedAt,
            }, TableUpdateMode.Replace, ct);
        });
        return seeded;
    }

    /// <summary>How many <c>decision</c> audit rows name each content, over today and yesterday (UTC).</summary>
    public static async Task<IReadOnlyDictionary<string, int>> DecisionAuditsAsync(string connectionString)
    {
        var audit = new TableServiceClient(connectionString).GetTableClient("audit");
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var day in new[] { DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow })
        {
            var partition = day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
            await foreach (var row in audit.QueryAsync<TableEntity>(e => e.PartitionKey == partition && e.GetString("Action") == "decision"))
            {
                // The subject ends with the content's sha256: "{remote} {subject} {file} {sha256}".
                var subject = row.GetString("Subject") ?? "";
                var sha256 = subject[(subject.LastIndexOf(' ') + 1)..];
                counts[sha256] = counts.GetValueOrDefault(sha256) + 1;
            }
        }
        return counts;
    }
}
