namespace Gatehouse.Names;

/// <summary>What Gatehouse saw of a Hugging Face repo the first time: who owned it and when the Hub says it was created.</summary>
public sealed record RepoIdentity(string Repo, string? Author, DateTimeOffset? CreatedAt, DateTimeOffset FirstSeen);

/// <summary>Where first sightings of repos are kept, so a later answer can be compared with the first.</summary>
public interface IRepoIdentityStore
{
    Task<RepoIdentity?> GetAsync(string repo, CancellationToken ct);

    Task RememberAsync(RepoIdentity identity, CancellationToken ct);
}

/// <summary>
/// Notices a Hugging Face repo name that now belongs to someone else, or was deleted and created again: a namespace
/// freed by a renamed or deleted account can be registered by anyone, and code that loads the old name by id then loads
/// the newcomer's files (Palo Alto Networks Unit 42, "Model Namespace Reuse", 2025). The first sighting is remembered
/// and kept: once a repo has changed hands every later check says so, until an operator forgets the sighting.
/// </summary>
public sealed class NamespaceCheck(IRepoIdentityStore store, TimeProvider time)
{
    public const string NamespaceReusedSignal = "name.namespace-reused";

    /// <summary>
    /// Nothing on first sight (which is remembered); afterwards <c>name.namespace-reused</c> when the author differs
    /// (ignoring case) or the creation time does. A value not known on either side is not a difference; one known only
    /// now is added to the remembered sighting.
    /// </summary>
    public async Task<IReadOnlyList<string>> CheckAsync(string repo, string? author, DateTimeOffset? createdAt, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(repo);
        var known = await store.GetAsync(repo, ct);
        if (known is null)
        {
            await store.RememberAsync(new RepoIdentity(repo, author, createdAt, time.GetUtcNow()), ct);
            return [];
        }
        var authorChanged = known.Author is not null && author is not null && !string.Equals(known.Author, author, StringComparison.OrdinalIgnoreCase);
        var recreated = known.CreatedAt is { } was && createdAt is { } now && was != now;
        if (authorChanged || recreated)
        {
            return [NamespaceReusedSignal];
        }
        if ((known.Author is null && author is not null) || (known.CreatedAt is null && createdAt is not null))
        {
            await store.RememberAsync(known with { Author = known.Author ?? author, CreatedAt = known.CreatedAt ?? createdAt }, ct);
        }
        return [];
    }
}
