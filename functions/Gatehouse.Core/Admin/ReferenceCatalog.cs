using System.Runtime.CompilerServices;
using Azure.Data.Tables;
using Gatehouse.Pipeline;
using Gatehouse.Storage;

namespace Gatehouse.Admin;

/// <summary>
/// One reference as the console lists it: the file of a remote, the content it names and the decision recorded for it.
/// </summary>
/// <param name="Decision">Null when none is recorded, or it was recorded before decisions carried a policy version (as <see cref="ReferenceStore"/> reads it).</param>
public sealed record CatalogReference(string Remote, string Partition, string Row, string Subject, string File, string Sha256, long Size, Decision? Decision, string Rule,
    string PolicyRule, string Reason, DateTimeOffset? DecidedAt)
{
    /// <summary>
    /// The release's version where the subject names one (PyPI and uploaded packages: <c>project version</c>); null for a
    /// repository at a commit or a version the file name did not tell (<c>?</c>).
    /// </summary>
    public string? Version => Subject.Split(' ', 2) is [_, var version] && version.Length > 0 && version != "?" ? version : null;

    /// <summary>Whether the recorded decision refuses the file.</summary>
    public bool IsRefused => Decision is Pipeline.Decision.Quarantined or Pipeline.Decision.Blocked;
}

/// <summary>What a walk over every reference reads: the few columns a count needs, or everything a listing shows.</summary>
public enum ReferenceColumns
{
    /// <summary>Remote, content, size and decision: enough to count (subject, rule and reason are left empty; the file is the row key).</summary>
    Tally,

    /// <summary>Every column the console shows.</summary>
    Listing,
}

/// <summary>The references as the console reads them: every one (a projection of the columns asked) or one by its key.</summary>
public interface IReferenceCatalog
{
    /// <summary>Every recorded reference of every remote (or only those decided at or after <paramref name="decidedSince"/>), in key order.</summary>
    IAsyncEnumerable<CatalogReference> ListAsync(ReferenceColumns columns, DateTimeOffset? decidedSince, CancellationToken cancellationToken);

    /// <summary>One reference with every column; null when none is recorded under the key.</summary>
    Task<CatalogReference?> GetAsync(string partition, string row, CancellationToken cancellationToken);
}

/// <summary>
/// Reads the <c>references</c> table with a <c>$select</c> projection, so a walk over 100 000 rows carries only the
/// columns it uses (not the upstream URL, the upload time or the client etag of each). Event rows of the outbox, which
/// live in the same partitions without a remote, are skipped as <see cref="ReferenceStore"/> skips them.
/// </summary>
public sealed class ReferenceCatalog(GatehouseStorage storage) : IReferenceCatalog
{
    private static readonly string[] TallyColumns = ["PartitionKey", "RowKey", "Remote", "Sha256", "Size", "Decision", "PolicyVersion", "DecidedAt"];

    private static readonly string[] ListingColumns =
        [.. TallyColumns, "Subject", "FileName", "Rule", "PolicyRule", "Reason"];

    private readonly TableClient _table = storage.Table(GatehouseStorage.ReferencesTable);

    public async IAsyncEnumerable<CatalogReference> ListAsync(ReferenceColumns columns, DateTimeOffset? decidedSince,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var select = columns == ReferenceColumns.Tally ? TallyColumns : ListingColumns;
        // The table service filters by time, so a recent window sends only its rows.
        var filter = decidedSince is { } since ? TableClient.CreateQueryFilter($"DecidedAt ge {since}") : null;
        await foreach (var e in _table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: select, cancellationToken: cancellationToken))
        {
            if (Read(e) is { } row)
            {
                yield return row;
            }
        }
    }

    public async Task<CatalogReference?> GetAsync(string partition, string row, CancellationToken cancellationToken)
    {
        var found = await _table.GetEntityIfExistsAsync<TableEntity>(partition, row, ListingColumns, cancellationToken);
        return found is { HasValue: true, Value: { } e } ? Read(e) : null;
    }

    /// <summary>A row of the table as a reference; null for a row that is not one (an event, a row without a content).</summary>
    internal static CatalogReference? Read(TableEntity e)
    {
        if (e.GetString("Remote") is not { Length: > 0 } remote || e.GetString("Sha256") is not { Length: 64 } sha256)
        {
            return null;
        }
        // A decision without a policy version predates the schema: it is judged again, so it counts as none (as ReferenceStore reads it).
        var decision = Enum.TryParse<Decision>(e.GetString("Decision"), out var d) && Enum.IsDefined(d) && e.GetString("PolicyVersion") is not null ? d : (Decision?)null;
        return new CatalogReference(remote, e.PartitionKey, e.RowKey, e.GetString("Subject") ?? "", e.GetString("FileName") ?? e.RowKey, sha256, e.GetInt64("Size") ?? 0,
            decision, e.GetString("Rule") ?? "", e.GetString("PolicyRule") ?? "", e.GetString("Reason") ?? "", decision is null ? null : e.GetDateTimeOffset("DecidedAt"));
    }

    /// <summary>A reference as the reference store reads it, in the console's shape.</summary>
    public static CatalogReference Of(StoredReference stored)
    {
        var (reference, decision) = (stored.Reference, stored.Decision);
        return new CatalogReference(reference.Remote.Name, reference.Key.Partition, reference.Key.Row, reference.Subject, reference.FileName, reference.Sha256, reference.Size,
            decision?.Decision, decision?.Rule ?? "", decision?.PolicyRule ?? "", decision?.Reason ?? "", decision?.DecidedAt);
    }
}
