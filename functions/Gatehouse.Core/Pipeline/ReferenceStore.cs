using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Gatehouse.Events;
using Gatehouse.Storage;

namespace Gatehouse.Pipeline;

/// <summary>The references: which file of which remote names which content, and the decision recorded for it.</summary>
public interface IReferenceStore
{
    Task RecordAsync(ArtifactReference reference, CancellationToken cancellationToken);

    Task<StoredReference?> GetAsync(ReferenceKey key, CancellationToken cancellationToken);

    Task<IReadOnlyList<StoredReference>> ReferencesToAsync(string sha256, CancellationToken cancellationToken);

    /// <summary>
    /// Records the decision unless the row already holds it (another instance decided the same a moment ago) or no longer
    /// names this content; true when this call changed the row, so each change is audited once however many decide it.
    /// A change that announces an event (<see cref="DecisionEvents"/>) writes it with the decision, in one transaction.
    /// </summary>
    Task<bool> RecordDecisionAsync(ArtifactReference reference, ArtifactDecision decision, CancellationToken cancellationToken);

    Task<IReadOnlyDictionary<string, string>> RefusedAsync(string partition, CancellationToken cancellationToken);

    /// <summary>Every recorded reference of every remote (a dry run, a rescan, an export), in key order.</summary>
    IAsyncEnumerable<StoredReference> ListAsync(CancellationToken cancellationToken);

    /// <summary>Every recorded reference of one partition (a project, a repository), in key order; for a bill of materials.</summary>
    IAsyncEnumerable<StoredReference> ListAsync(string partition, CancellationToken cancellationToken);

    /// <summary>Every reference whose recorded decision refuses it, in key order: the quarantine list. A store may filter on its server.</summary>
    IAsyncEnumerable<StoredReference> ListRefusedAsync(CancellationToken cancellationToken) => RefusedOf(ListAsync(cancellationToken));

    private static async IAsyncEnumerable<StoredReference> RefusedOf(IAsyncEnumerable<StoredReference> all)
    {
        await foreach (var stored in all)
        {
            if (stored.Decision is { IsAllowed: false })
            {
                yield return stored;
            }
        }
    }
}

/// <summary>
/// References: which file of which remote points at which content, with the decision made for it, so an index page
/// can hide refused files with one partition query. Each content also lists its references (rows <c>ref:…</c> in its
/// <c>verdicts</c> partition), so new facts can be decided for every file that names the content. A decision's event
/// row (<c>event:{id}</c>, no <c>Remote</c>, so never read as a reference) lives in the reference's partition: that
/// is what lets it be written in the same entity-group transaction as the decision.
/// </summary>
public sealed class ReferenceStore : IReferenceStore
{
    private readonly TableClient _table;
    private readonly TableClient _contents;
    private readonly IEventOutbox? _events;

    public ReferenceStore(GatehouseStorage storage, IEventOutbox? events = null)
    {
        _table = storage.Table(GatehouseStorage.ReferencesTable);
        _contents = storage.Table(GatehouseStorage.VerdictsTable);
        _events = events;
    }

    /// <summary>Records (or refreshes) a reference; a decision already recorded for it stays until it is decided again.</summary>
    public async Task RecordAsync(ArtifactReference reference, CancellationToken cancellationToken)
    {
        var entity = new TableEntity(reference.Key.Partition, reference.Key.Row)
        {
            ["Remote"] = reference.Remote.Name,
            ["Subject"] = reference.Subject,
            ["FileName"] = reference.FileName,
            ["Sha256"] = reference.Sha256,
            ["Size"] = reference.Size,
            ["UpstreamUrl"] = reference.UpstreamUrl,
            ["UploadTime"] = reference.UploadTime,
            ["ClientEtag"] = reference.ClientEtag,
        };
        if (await GetAsync(reference.Key, cancellationToken) is { Reference.Sha256: var previous } && previous != reference.Sha256)
        {
            // The name now points at other content (an upstream re-release): the old decision is not this content's.
            entity["Decision"] = null;
            entity["Rule"] = null;
            entity["Reason"] = null;
        }
        await _table.UpsertEntityAsync(entity, TableUpdateMode.Merge, cancellationToken);
        await _contents.UpsertEntityAsync(new TableEntity(reference.Sha256, ContentRow(reference.Key))
        {
            ["Partition"] = reference.Key.Partition,
            ["Row"] = reference.Key.Row,
        }, TableUpdateMode.Replace, cancellationToken);
    }

    /// <summary>A reference as recorded, with its decision; null when none is recorded (or it predates this schema).</summary>
    public async Task<StoredReference?> GetAsync(ReferenceKey key, CancellationToken cancellationToken)
    {
        var found = await _table.GetEntityIfExistsAsync<TableEntity>(key.Partition, key.Row, cancellationToken: cancellationToken);
        return found is { HasValue: true, Value: { } e } ? Read(e) : null;
    }

    /// <summary>Every recorded reference to a content.</summary>
    public async Task<IReadOnlyList<StoredReference>> ReferencesToAsync(string sha256, CancellationToken cancellationToken)
    {
        var references = new List<StoredReference>();
        await foreach (var row in _contents.QueryAsync<TableEntity>(
            e => e.PartitionKey == sha256 && e.RowKey.CompareTo("ref:") >= 0 && e.RowKey.CompareTo("ref;") < 0, cancellationToken: cancellationToken))
        {
            if (await GetAsync(new ReferenceKey(row.GetString("Partition"), row.GetString("Row")), cancellationToken) is { } reference
                && reference.Reference.Sha256 == sha256)
            {
                references.Add(reference);
            }
        }
        return references;
    }

    public async Task<bool> RecordDecisionAsync(ArtifactReference reference, ArtifactDecision decision, CancellationToken cancellationToken)
    {
        var entity = new TableEntity(reference.Key.Partition, reference.Key.Row)
        {
            ["Sha256"] = reference.Sha256,
            ["Decision"] = decision.Decision.ToString(),
            ["Rule"] = decision.Rule,
            ["Reason"] = decision.Reason,
            ["PolicyVersion"] = decision.PolicyVersion,
            ["PolicyRule"] = decision.PolicyRule,
            ["DecidedAt"] = decision.DecidedAt,
        };
        StagedEvent? staged = null;
        try
        {
            var current = (await _table.GetEntityAsync<TableEntity>(reference.Key.Partition, reference.Key.Row, cancellationToken: cancellationToken)).Value;
            if (current.GetString("Sha256") != reference.Sha256
                || (current.GetString("Decision") == decision.Decision.ToString() && current.GetString("Rule") == decision.Rule
                    && current.GetString("PolicyVersion") == decision.PolicyVersion))
            {
                return false;
            }
            var previous = Enum.TryParse<Decision>(current.GetString("Decision"), out var d) ? d : (Decision?)null;
            var change = _events is null ? null : DecisionEvents.Of(reference, previous, current.GetString("Rule"), decision, current.ETag.ToString());
            if (change is not null && _events is ITransactionalEventOutbox outbox)
            {
                staged = await outbox.StageAsync(change, GatehouseStorage.ReferencesTable, reference.Key.Partition, cancellationToken);
                await _table.SubmitTransactionAsync(
                    [new TableTransactionAction(TableTransactionActionType.UpdateMerge, entity, current.ETag), staged.Action], cancellationToken);
                return true;
            }
            await _table.UpdateEntityAsync(entity, current.ETag, TableUpdateMode.Merge, cancellationToken);
            if (change is not null && _events is not null)
            {
                // An outbox without transactions (the audit only): recorded after the decision.
                await _events.EnqueueAsync(change, cancellationToken);
            }
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 409 or 412)
        {
            // Gone or changed since it was read: whoever changed it decided (and announced it).
            if (staged is not null && _events is ITransactionalEventOutbox outbox)
            {
                await outbox.AbandonAsync(staged, CancellationToken.None);
            }
            return false;
        }
    }

    /// <summary>File names (row keys) in the partition whose recorded decision refuses them, with the reason.</summary>
    public async Task<IReadOnlyDictionary<string, string>> RefusedAsync(string partition, CancellationToken cancellationToken)
    {
        var refused = new Dictionary<string, string>(StringComparer.Ordinal);
        await foreach (var e in _table.QueryAsync<TableEntity>(x => x.PartitionKey == partition, select: ["RowKey", "Decision", "Reason", "PolicyVersion"],
            cancellationToken: cancellationToken))
        {
            var decision = e.GetString("Decision");
            // Decisions from before the current schema carry no policy version: they are judged again, not trusted.
            if (decision is not null && decision != nameof(Decision.Allowed) && e.GetString("PolicyVersion") is not null)
            {
                refused[e.RowKey] = e.GetString("Reason") ?? decision;
            }
        }
        return refused;
    }

    public IAsyncEnumerable<StoredReference> ListAsync(CancellationToken cancellationToken) =>
        ReadAllAsync(_table.QueryAsync<TableEntity>(cancellationToken: cancellationToken));

    public IAsyncEnumerable<StoredReference> ListAsync(string partition, CancellationToken cancellationToken) =>
        ReadAllAsync(_table.QueryAsync<TableEntity>(x => x.PartitionKey == partition, cancellationToken: cancellationToken));

    /// <summary>
    /// The refused rows only, filtered by the table service: a cache that allows nine files in ten sends a tenth of its
    /// rows. Read as every listing reads them, so a decision without a policy version is still none.
    /// </summary>
    public IAsyncEnumerable<StoredReference> ListRefusedAsync(CancellationToken cancellationToken) =>
        ReadAllAsync(_table.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"Decision eq {nameof(Decision.Quarantined)} or Decision eq {nameof(Decision.Blocked)}"), cancellationToken: cancellationToken));

    private static async IAsyncEnumerable<StoredReference> ReadAllAsync(AsyncPageable<TableEntity> rows)
    {
        await foreach (var e in rows)
        {
            if (Read(e) is { } stored)
            {
                yield return stored;
            }
        }
    }

    internal static StoredReference? Read(TableEntity e)
    {
        if (e.GetString("Remote") is not { Length: > 0 } remote || e.GetString("Sha256") is not { Length: 64 } sha256)
        {
            return null;
        }
        var reference = new ArtifactReference(
            new RemoteKind(remote), new ReferenceKey(e.PartitionKey, e.RowKey), e.GetString("Subject") ?? "", e.GetString("FileName") ?? e.RowKey,
            sha256, e.GetInt64("Size") ?? 0, e.GetString("UpstreamUrl") ?? "", e.GetString("UploadTime"), e.GetString("ClientEtag"));
        var decision = Enum.TryParse<Decision>(e.GetString("Decision"), out var d) && e.GetString("PolicyVersion") is { } version
            ? new ArtifactDecision(d, e.GetString("Rule") ?? "", e.GetString("Reason") ?? "", version, e.GetDateTimeOffset("DecidedAt") ?? DateTimeOffset.MinValue)
            {
                PolicyRule = e.GetString("PolicyRule") ?? "",
            }
            : null;
        return new StoredReference(reference, decision);
    }

    /// <summary>The content's row for a reference: a hash of the key, since table keys forbid some of its characters.</summary>
    private static string ContentRow(ReferenceKey key) =>
        "ref:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key.Partition + "\n" + key.Row)))[..32];
}

/// <summary>A recorded reference and the decision last recorded for it (null when none is).</summary>
public sealed record StoredReference(ArtifactReference Reference, ArtifactDecision? Decision);
