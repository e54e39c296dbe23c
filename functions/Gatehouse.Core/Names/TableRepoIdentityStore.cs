using Azure.Data.Tables;
using Gatehouse.Storage;

namespace Gatehouse.Names;

/// <summary>
/// First sightings of Hugging Face repos in the <c>names</c> table: partition <c>hf:{namespace}</c>, row the repo's
/// name, both lower-cased (so <c>Org/Model</c> and <c>org/model</c> share one sighting). A repo id is <c>[namespace/]name</c>, with
/// <c>datasets/</c> or <c>spaces/</c> in front for those kinds; the slashes of the namespace part become <c>|</c>, which
/// no repo id may hold (huggingface_hub <c>validate_repo_id</c> allows letters, digits, <c>-</c>, <c>_</c> and <c>.</c>).
/// </summary>
public sealed class TableRepoIdentityStore(GatehouseStorage storage) : IRepoIdentityStore
{
    private readonly TableClient _table = storage.Table(GatehouseStorage.NamesTable);

    public async Task<RepoIdentity?> GetAsync(string repo, CancellationToken ct)
    {
        var (partition, row) = Keys(repo);
        var found = await _table.GetEntityIfExistsAsync<TableEntity>(partition, row, cancellationToken: ct);
        return found is { HasValue: true, Value: { } e }
            ? new RepoIdentity(e.GetString("Repo"), e.GetString("Author"), e.GetDateTimeOffset("CreatedAt"), e.GetDateTimeOffset("FirstSeen") ?? DateTimeOffset.MinValue)
            : null;
    }

    public async Task RememberAsync(RepoIdentity identity, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var (partition, row) = Keys(identity.Repo);
        await _table.UpsertEntityAsync(new TableEntity(partition, row)
        {
            ["Repo"] = identity.Repo,
            ["Author"] = identity.Author,
            ["CreatedAt"] = identity.CreatedAt,
            ["FirstSeen"] = identity.FirstSeen,
        }, TableUpdateMode.Replace, ct);
    }

    /// <summary>The table keys of a repo id; refuses what no repo id holds and a table key may not (<c>\ # ?</c>, control characters).</summary>
    internal static (string Partition, string Row) Keys(string repo)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(repo);
        if (repo.Any(c => c is '\\' or '#' or '?' or '|' || char.IsControl(c)) || repo.StartsWith('/') || repo.EndsWith('/'))
        {
            throw new ArgumentException($"'{repo}' is not a Hugging Face repo id.", nameof(repo));
        }
        var lower = repo.ToLowerInvariant();
        var slash = lower.LastIndexOf('/');
        return ("hf:" + (slash < 0 ? "" : lower[..slash].Replace('/', '|')), lower[(slash + 1)..]);
    }
}
