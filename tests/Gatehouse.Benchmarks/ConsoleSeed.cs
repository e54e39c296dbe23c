using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Gatehouse.Pipeline;
using Gatehouse.Scans;

namespace Gatehouse.Benchmarks;

/// <summary>What <see cref="ConsoleSeed.SeedAsync"/> wrote.</summary>
public sealed record ConsoleSeedResult(int References, int Allowed, int Quarantined, int Blocked, int Partitions, long Bytes, TimeSpan Elapsed);

/// <summary>
/// A large cache as the console sees it, written straight into the <c>references</c> and <c>verdicts</c> tables the way
/// Gatehouse records them (no blob, no scan): <c>count</c> references over PyPI projects (70 %), Hugging Face repositories
/// (25 %) and uploads (5 %), 25 files each, decided over the last 30 days, about 90 % allowed, 7 % quarantined and 3 %
/// blocked. Each refused content has its facts row (a finding of its severity: suspicious when quarantined, dangerous
/// when blocked) and its <c>ref:</c> row, so the quarantine list shows severity and a search by sha256 finds it.
/// References are written in entity-group transactions of up to 100 rows of one partition. Deterministic for a seed.
/// </summary>
public static class ConsoleSeed
{
    /// <summary>Files per project or repository.</summary>
    public const int FilesPerSubject = 25;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private sealed record Seeded(string Remote, string Partition, string Row, string Subject, string File, string Sha256, long Size, string Decision, DateTimeOffset DecidedAt);

    public static async Task<ConsoleSeedResult> SeedAsync(string connectionString, int count, string prefix = "bench-console", int seed = 1, DateTimeOffset? now = null,
        CancellationToken cancellationToken = default)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var at = now ?? DateTimeOffset.UtcNow;
        var random = new Random(seed);
        var tables = new TableServiceClient(connectionString);
        var references = tables.GetTableClient("references");
        var verdicts = tables.GetTableClient("verdicts");
        await references.CreateIfNotExistsAsync(cancellationToken);
        await verdicts.CreateIfNotExistsAsync(cancellationToken);

        var rows = new List<Seeded>(count);
        for (var i = 0; i < count; i++)
        {
            var group = (i / FilesPerSubject).ToString(CultureInfo.InvariantCulture);
            var n = (i % FilesPerSubject).ToString(CultureInfo.InvariantCulture);
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{prefix}/{seed}/{i}")));
            var size = (long)(1024 * Math.Pow(2, random.NextDouble() * 15)); // 1 KiB to 32 MiB, log-uniform
            var roll = random.NextDouble();
            var decision = roll < 0.90 ? "Allowed" : roll < 0.97 ? "Quarantined" : "Blocked";
            var decidedAt = at - TimeSpan.FromSeconds(random.NextDouble() * TimeSpan.FromDays(30).TotalSeconds);
            rows.Add((i % 20) switch
            {
                < 14 => new Seeded("pypi", $"pypi:{prefix}-{group}", $"{prefix.Replace('-', '_')}_{group}-1.{n}-py3-none-any.whl", $"{prefix}-{group} 1.{n}",
                    $"{prefix.Replace('-', '_')}_{group}-1.{n}-py3-none-any.whl", sha256, size, decision, decidedAt),
                < 19 => new Seeded("hf", $"hf:model:bench%2F{prefix}-{group}", $"{sha256[..40]}%2Fshard-{n}.safetensors",
                    $"bench/{prefix}-{group}@{sha256[..40]}", $"shard-{n}.safetensors", sha256, size, decision, decidedAt),
                _ => new Seeded("uploads", $"uploads:models%2Fteam%2F{prefix}-{group}", $"weights-{n}.bin", $"models/team/{prefix}-{group}", $"weights-{n}.bin",
                    sha256, size, decision, decidedAt),
            });
        }

        var partitions = rows.GroupBy(r => r.Partition).SelectMany(p => p.Chunk(100)).ToList();
        await Parallel.ForEachAsync(partitions, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (chunk, ct) =>
            await references.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, Reference(r))), ct));

        var refused = rows.Where(r => r.Decision != "Allowed").ToList();
        await Parallel.ForEachAsync(refused, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (r, ct) =>
            await verdicts.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.UpsertReplace, new TableEntity(r.Sha256, ContentRow(r.Partition, r.Row))
                {
                    ["Partition"] = r.Partition,
                    ["Row"] = r.Row,
                }),
                new TableTransactionAction(TableTransactionActionType.UpsertReplace, Facts(r)),
            ], ct));

        return new ConsoleSeedResult(rows.Count, rows.Count(r => r.Decision == "Allowed"), rows.Count(r => r.Decision == "Quarantined"),
            rows.Count(r => r.Decision == "Blocked"), rows.Select(r => r.Partition).Distinct().Count(), rows.Sum(r => r.Size), started.Elapsed);
    }

    private static TableEntity Reference(Seeded r)
    {
        var allowed = r.Decision == "Allowed";
        return new TableEntity(r.Partition, r.Row)
        {
            ["Remote"] = r.Remote,
            ["Subject"] = r.Subject,
            ["FileName"] = r.File,
            ["Sha256"] = r.Sha256,
            ["Size"] = r.Size,
            ["UpstreamUrl"] = $"https://files.example/{r.Sha256}/{r.File}",
            ["UploadTime"] = r.DecidedAt.AddDays(-40).ToString("O", CultureInfo.InvariantCulture),
            ["Decision"] = r.Decision,
            ["Rule"] = allowed ? "policy.clean" : r.Decision == "Blocked" ? "install.pth-exec" : "pickle.unknown-global",
            ["Reason"] = allowed ? "No finding" : r.Decision == "Blocked" ? "A .pth file runs code at interpreter start-up" : "A pickle imports a callable not on the allow-list",
            ["PolicyVersion"] = "policy-bench",
            ["PolicyRule"] = allowed ? "default" : r.Decision == "Blocked" ? "content-dangerous" : "content-suspicious",
            ["DecidedAt"] = r.DecidedAt,
        };
    }

    private static TableEntity Facts(Seeded r)
    {
        var finding = r.Decision == "Blocked"
            ? new Finding("install.pth-exec", Severity.Dangerous, "A .pth file runs code at interpreter start-up", "bench.pth")
            : new Finding("pickle.unknown-global", Severity.Suspicious, "A pickle imports a callable not on the allow-list", "data.pkl");
        return new TableEntity(r.Sha256, "facts")
        {
            ["Size"] = r.Size,
            ["Version"] = ContentFacts.CurrentVersion,
            ["Archive"] = "Zip",
            ["IsWheel"] = r.Remote == "pypi",
            ["ModelFormat"] = r.Remote == "pypi" ? "data" : "pickle",
            ["Findings"] = JsonSerializer.Serialize(new[] { finding }, Json),
            ["Errors"] = "[]",
            ["Container"] = "quarantine",
            ["ScannedAt"] = r.DecidedAt,
        };
    }

    /// <summary>The content's row for a reference, as <c>ReferenceStore</c> names it.</summary>
    private static string ContentRow(string partition, string row) =>
        "ref:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(partition + "\n" + row)))[..32];
}
