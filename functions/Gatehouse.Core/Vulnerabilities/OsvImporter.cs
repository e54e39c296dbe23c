using System.IO.Compression;
using System.Text;
using Azure.Data.Tables;
using Gatehouse.Storage;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Vulnerabilities;

/// <summary>Where an export came from, recorded with the import so the next download can be conditional.</summary>
/// <param name="Url">The export's URL, which every row it writes records as its <c>Source</c>; null for a stream handed in.</param>
public sealed record OsvImportSource(string? Url, string? ETag, string? LastModified)
{
    /// <summary>
    /// The primary export (<c>Gatehouse:Osv:ExportUrl</c>, or a stream): besides its own rows it owns those of no other
    /// configured export: legacy rows written before rows had a <c>Source</c>, and those of an export no longer configured.
    /// </summary>
    public bool Primary { get; init; } = true;

    /// <summary>The other configured exports' URLs, whose rows a primary import leaves alone.</summary>
    public IReadOnlyCollection<string> Others { get; init; } = [];

    /// <summary>True when a stored row written from <paramref name="rowSource"/> is this import's to keep or delete.</summary>
    public bool Owns(string? rowSource) => Primary ? rowSource is null || !Others.Contains(rowSource, StringComparer.Ordinal) : rowSource == Url;
}

/// <summary>What one import did.</summary>
/// <param name="Records">Valid records read from the export.</param>
/// <param name="Projects">Distinct packages they name: PyPI projects, Debian and Alpine source packages per release.</param>
/// <param name="Upserted">Rows written because they were new or changed.</param>
/// <param name="Unchanged">Rows already stored exactly so.</param>
/// <param name="Deleted">Rows of advisories no longer in the export for their project.</param>
/// <param name="SkippedInvalid">Files that were not a usable PyPI, Debian or Alpine record (each reason is logged).</param>
public sealed record OsvImportResult(int Records, int Projects, int Upserted, int Unchanged, int Deleted, int SkippedInvalid);

/// <summary>
/// Loads an OSV export (a zip of one JSON record per file, as https://google.github.io/osv.dev/data/#data-dumps
/// describes) into the <c>vulnerabilities</c> table. Records are read one at a time; only the keys and hashes of the
/// rows are held, so memory grows with the number of advisories, not their size. Rows go out in entity-group
/// transactions of at most 100 operations and 4 MiB per partition (the Table service's limits), only when their record
/// changed; rows whose advisory is gone from the export are deleted. Several exports share the table (PyPI, Debian,
/// Alpine): an import compares with and deletes only the rows it owns (<see cref="OsvImportSource.Owns"/>).
/// </summary>
public sealed class OsvImporter(GatehouseStorage storage, VulnerabilityMirror mirror, TimeProvider time, ILogger<OsvImporter> log)
{
    /// <summary>A record file larger than this is refused unread: real ones are a few KB, the largest a few hundred.</summary>
    public const long MaxRecordBytes = 16L * 1024 * 1024;

    private const int MaxBatchOperations = 100;
    private const long MaxBatchBytes = 3L * 1024 * 1024;
    private const long MaxBufferedBytes = 32L * 1024 * 1024;
    private const int Parallelism = 8;
    private const int LoggedReasons = 20;

    /// <summary>Imports a zip export; a stream that cannot seek is first copied to a temporary file.</summary>
    public Task<OsvImportResult> ImportAsync(Stream zip, CancellationToken cancellationToken) => ImportAsync(zip, null, cancellationToken);

    /// <summary>Imports a zip export and records <paramref name="source"/> with it.</summary>
    public async Task<OsvImportResult> ImportAsync(Stream zip, OsvImportSource? source, CancellationToken cancellationToken)
    {
        var table = storage.Table(GatehouseStorage.VulnerabilitiesTable);
        await table.CreateIfNotExistsAsync(cancellationToken);
        await using var seekable = zip.CanSeek ? null : await CopyToTempAsync(zip, cancellationToken);
        using var archive = new ZipArchive(seekable ?? zip, ZipArchiveMode.Read, leaveOpen: true);

        source ??= new OsvImportSource(null, null, null);
        var stored = await StoredHashesAsync(table, source, cancellationToken);
        var seen = new HashSet<(string Project, string Row)>();
        var projects = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Batches(table, cancellationToken);
        int records = 0, unchanged = 0, invalid = 0;
        void Invalid(string name, string reason)
        {
            if (++invalid <= LoggedReasons)
            {
                log.LogWarning("OSV import: skipped {Entry}: {Reason}", name, reason);
            }
        }

        foreach (var entry in archive.Entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (entry.FullName.EndsWith('/') || !entry.FullName.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            if (entry.Length > MaxRecordBytes)
            {
                Invalid(entry.FullName, $"{entry.Length} bytes, more than a record may have");
                continue;
            }
            byte[] bytes;
            try
            {
                bytes = await ReadAsync(entry, cancellationToken);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
            {
                Invalid(entry.FullName, e.Message);
                continue;
            }
            var record = OsvRecord.TryParse(bytes, out var error);
            if (record is null)
            {
                Invalid(entry.FullName, error ?? "unreadable");
                continue;
            }
            var names = record.Packages().ToList();
            if (names.Count == 0)
            {
                Invalid(entry.FullName, $"{record.Id} names no PyPI, Debian or Alpine package");
                continue;
            }
            records++;
            foreach (var package in names)
            {
                var project = package.Partition;
                var key = (project, OsvTable.RowKey(record.Id));
                if (!seen.Add(key))
                {
                    Invalid(entry.FullName, $"{record.Id} appears more than once for {project}");
                    continue;
                }
                projects.Add(project);
                if (OsvTable.Compact(record, package) is not { } json)
                {
                    Invalid(entry.FullName, $"{record.Id} for {project} is too large for a table row even without its details");
                    continue;
                }
                var entity = OsvTable.Entity(project, record.Id, json, source.Url);
                // A legacy row (no Source) with the same record is written once more, to record its Source.
                if (stored.Remove(key, out var row) && row.Hash == entity.GetString("Hash") && row.Source == source.Url)
                {
                    unchanged++;
                    continue;
                }
                await pending.AddAsync(new TableTransactionAction(TableTransactionActionType.UpsertReplace, entity), Encoding.UTF8.GetByteCount(json));
            }
        }
        await pending.FlushAsync();
        var upserted = pending.Written;

        // What is left of the rows this export owns was not in it: the advisory was removed or no longer names the project.
        var deletions = new Batches(table, cancellationToken);
        foreach (var (project, row) in stored.Keys)
        {
            await deletions.AddAsync(new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(project, row)), 256);
        }
        await deletions.FlushAsync();

        var importedAt = time.GetUtcNow();
        await table.UpsertEntityAsync(new TableEntity(OsvTable.MetaPartition, OsvTable.MetaRowFor(source))
        {
            ["SourceUrl"] = source.Url,
            ["ETag"] = source.ETag,
            ["LastModified"] = source.LastModified,
            ["Records"] = records,
            ["Projects"] = projects.Count,
            ["ImportedAt"] = importedAt,
        }, TableUpdateMode.Replace, cancellationToken);
        mirror.Invalidate(importedAt, source.Url);

        var result = new OsvImportResult(records, projects.Count, upserted, unchanged, deletions.Written, invalid);
        log.LogInformation("OSV import from {Source}: {Records} records for {Projects} projects; {Upserted} rows written, {Unchanged} unchanged, {Deleted} deleted, {Skipped} files skipped",
            source.Url ?? "a stream", result.Records, result.Projects, result.Upserted, result.Unchanged, result.Deleted, result.SkippedInvalid);
        return result;
    }

    private static async Task<FileStream> CopyToTempAsync(Stream zip, CancellationToken cancellationToken)
    {
        var file = new FileStream(Path.Combine(Path.GetTempPath(), "gatehouse-osv-" + Guid.NewGuid().ToString("N") + ".zip"), FileMode.CreateNew,
            FileAccess.ReadWrite, FileShare.None, 81_920, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            await zip.CopyToAsync(file, cancellationToken);
            file.Position = 0;
            return file;
        }
        catch
        {
            await file.DisposeAsync();
            throw;
        }
    }

    /// <summary>One entry's bytes, at most <see cref="MaxRecordBytes"/> whatever its header claimed.</summary>
    private static async Task<byte[]> ReadAsync(ZipArchiveEntry entry, CancellationToken cancellationToken)
    {
        await using var body = await entry.OpenAsync(cancellationToken);
        var bytes = new byte[entry.Length];
        await body.ReadExactlyAsync(bytes, cancellationToken);
        // The header's length is the record's; a body that goes on past it is not the file it claims to be.
        return body.ReadByte() == -1 ? bytes : throw new InvalidDataException($"{entry.FullName} inflates past its declared {entry.Length} bytes");
    }

    /// <summary>The key, hash and source of every stored record row that <paramref name="source"/> owns.</summary>
    private static async Task<Dictionary<(string Project, string Row), (string? Hash, string? Source)>> StoredHashesAsync(TableClient table, OsvImportSource source,
        CancellationToken cancellationToken)
    {
        var stored = new Dictionary<(string, string), (string?, string?)>();
        await foreach (var row in table.QueryAsync<TableEntity>(e => e.PartitionKey != OsvTable.MetaPartition, select: ["PartitionKey", "RowKey", "Hash", "Source"],
            cancellationToken: cancellationToken))
        {
            var rowSource = row.GetString("Source");
            if (source.Owns(rowSource))
            {
                stored[(row.PartitionKey, row.RowKey)] = (row.GetString("Hash"), rowSource);
            }
        }
        return stored;
    }

    /// <summary>
    /// Operations grouped by partition and sent as transactions: a partition's group goes when it reaches the Table
    /// service's limits, and every group goes (several at once) when what is held passes <see cref="MaxBufferedBytes"/>.
    /// </summary>
    private sealed class Batches(TableClient table, CancellationToken cancellationToken)
    {
        private readonly Dictionary<string, (List<TableTransactionAction> Actions, long Bytes)> _groups = new(StringComparer.Ordinal);
        private long _buffered;

        public int Written { get; private set; }

        public async Task AddAsync(TableTransactionAction action, long bytes)
        {
            var partition = action.Entity.PartitionKey;
            var group = _groups.GetValueOrDefault(partition, ([], 0));
            if (group.Actions.Count == MaxBatchOperations || (group.Actions.Count > 0 && group.Bytes + bytes > MaxBatchBytes))
            {
                await SendAsync(group.Actions);
                _buffered -= group.Bytes;
                group = ([], 0);
            }
            group.Actions.Add(action);
            _groups[partition] = (group.Actions, group.Bytes + bytes);
            _buffered += bytes;
            if (_buffered > MaxBufferedBytes)
            {
                await FlushAsync();
            }
        }

        public async Task FlushAsync()
        {
            var groups = _groups.Values.Select(g => g.Actions).ToList();
            _groups.Clear();
            _buffered = 0;
            await Parallel.ForEachAsync(groups, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
                async (actions, _) => await SendAsync(actions));
        }

        private async Task SendAsync(List<TableTransactionAction> actions)
        {
            try
            {
                await table.SubmitTransactionAsync(actions, cancellationToken);
            }
            catch (TableTransactionFailedException e) when (e.Status == 404 && actions.All(a => a.ActionType == TableTransactionActionType.Delete))
            {
                // A row another import deleted meanwhile fails the whole transaction; one by one, a missing row is no error.
                foreach (var action in actions)
                {
                    await table.DeleteEntityAsync(action.Entity.PartitionKey, action.Entity.RowKey, cancellationToken: cancellationToken);
                }
            }
            lock (_groups)
            {
                Written += actions.Count;
            }
        }
    }
}
