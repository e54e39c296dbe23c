using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Configuration;
using Gatehouse.Pipeline;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.HuggingFace;

/// <summary>
/// The policy applied to what the Hub lists, before anything is downloaded. A repository's info at a commit is refused
/// when the policy refuses the commit on its metadata (licence, age, a reused namespace): every file would be. A tree or
/// paths-info listing of such a commit is refused the same way, with the reason the client prints, unless an exception
/// lets some of its files through: then only those are listed. A listing at a branch is judged at the branch's current
/// commit. A file refused for its content stays listed: clients look files up by name (paths-info) and snapshots list
/// the tree before downloading, and only the download's refusal tells them why. Files are judged one by one when
/// downloaded either way: a listing only hides.
/// </summary>
public sealed class HfListingPolicy(HuggingFaceUpstream upstream, ReferenceDecisions decisions, HuggingFaceFacts facts,
    IMemoryCache cache, IOptions<GatehouseOptions> options, ILogger<HfListingPolicy> logger)
{
    private readonly TimeSpan _branchTtl = TimeSpan.FromSeconds(options.Value.HuggingFace.CacheTtlSeconds);

    /// <summary>
    /// The decision on the repository at <paramref name="commit"/> from what is known before any download, for a
    /// request that named <paramref name="revision"/> (a commit is a pinned request).
    /// </summary>
    public Task<ArtifactDecision> DecideRepositoryAsync(string repoType, string repoId, string commit, string? revision, CancellationToken cancellationToken) =>
        decisions.DecideOnMetadataAsync(Unfetched(repoType, repoId, commit, "", null, 0), cancellationToken, new RequestFacts(HfFileDigests.IsCommit(revision)));

    /// <summary>
    /// A tree or paths-info answer (a JSON array of entries) as the policy lets it through: the same body when nothing
    /// is refused, a body without the refused files, or a refusal when every file is refused.
    /// </summary>
    public async Task<ListingVerdict> FilterAsync(HfRoute route, byte[] body, CancellationToken cancellationToken)
    {
        if (Entries(body) is not { } entries)
        {
            return ListingVerdict.Unchanged;
        }
        var commit = HfFileDigests.IsCommit(route.Revision) ? route.Revision! : await BranchCommitAsync(route, cancellationToken);
        if (commit is null)
        {
            // Unknown commit: the listing passes, and every download is still decided on its own.
            return ListingVerdict.Unchanged;
        }
        var repository = await DecideRepositoryAsync(route.RepoType, route.RepoId, commit, route.Revision, cancellationToken);
        if (repository.IsAllowed)
        {
            return ListingVerdict.Unchanged;
        }
        var kept = new JsonArray();
        var files = 0;
        var dropped = 0;
        foreach (var entry in entries)
        {
            if (entry is not JsonObject item || Text(item["type"]) != "file" || Text(item["path"]) is not { } path)
            {
                kept.Add(entry?.DeepClone());
                continue;
            }
            files++;
            // The commit is refused on metadata; an exception naming this file or its digest may still let it through.
            var lfs = item["lfs"] as JsonObject;
            var size = item["size"] is JsonValue v && v.TryGetValue<long>(out var n) ? n : 0;
            var file = Unfetched(route.RepoType, route.RepoId, commit, path, HfFileDigests.Sha256(Text(lfs?["oid"])), size);
            // Previewed, not audited per entry: the commit's refusal was audited once above.
            var (outcome, _) = await decisions.PreviewAsync(null, file, cancellationToken, new RequestFacts(HfFileDigests.IsCommit(route.Revision)));
            if (outcome.Decision != Decision.Allowed)
            {
                dropped++;
                continue;
            }
            kept.Add(item.DeepClone());
        }
        if (dropped == files)
        {
            return new ListingVerdict(null, repository, commit);
        }
        logger.LogInformation("Listing of {Repo} at {Commit}: {Dropped} of {Files} files refused by the policy are left out", route.RepoId, commit, dropped, files);
        return new ListingVerdict(JsonSerializer.SerializeToUtf8Bytes(kept), null, commit);
    }

    /// <summary>
    /// A reference to a file (or, with an empty path, the repository) at a commit that is not recorded, so the policy can
    /// judge it on metadata before anything is fetched.
    /// </summary>
    public ArtifactReference Unfetched(string repoType, string repoId, string commit, string path, string? sha256, long size) => new(
        HuggingFaceRemote.Hf,
        new ReferenceKey(HfFileDigests.ReferencePartition(repoType, repoId), HfFileDigests.ReferenceRowKey(commit, path)),
        HfFileDigests.Subject(repoType, repoId, commit),
        path[(path.LastIndexOf('/') + 1)..],
        sha256 ?? new string('0', 64),
        size,
        upstream.Url(path.Length == 0 ? $"api/{repoType}/{repoId}/revision/{commit}" : HfFileDigests.ResolvePath(repoType, repoId, commit, path)).AbsoluteUri,
        null);

    /// <summary>The commit a branch or tag names now (its info's <c>sha</c>), kept as long as other answers at a branch.</summary>
    private async Task<string?> BranchCommitAsync(HfRoute route, CancellationToken cancellationToken)
    {
        var revision = route.Revision ?? "main";
        var key = $"hf-branch:{route.RepoType}/{route.RepoId}@{revision}";
        if (cache.TryGetValue(key, out string? known) && known is not null)
        {
            return known;
        }
        var path = $"api/{route.RepoType}/{route.RepoId}/revision/{Uri.EscapeDataString(revision)}";
        using var response = await upstream.SendApiAsync(HttpMethod.Get, path, null, null, cancellationToken);
        if (response.Failure is not null || !response.IsSuccess)
        {
            logger.LogWarning("The commit of {Repo} at {Revision} is unknown ({Problem}); its listing is not filtered", route.RepoId, revision,
                response.Failure?.Message ?? $"HTTP {response.Status}");
            return null;
        }
        var (json, _) = await response.ReadJsonAsync(cancellationToken);
        if (json is not JsonObject info || HfFileDigests.Sha1(Text(info["sha"])) is not { } commit)
        {
            return null;
        }
        facts.Remember(route.RepoType, route.RepoId, commit, info);
        if (_branchTtl > TimeSpan.Zero)
        {
            cache.Set(key, commit, _branchTtl);
        }
        return commit;
    }

    private static JsonArray? Entries(byte[] body)
    {
        try
        {
            return JsonNode.Parse(body) as JsonArray;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}

/// <summary>
/// What a listing becomes under the policy: <see cref="Body"/> replaces the answer's body when files were left out;
/// <see cref="Refusal"/> refuses the listing when nothing in it may be served; neither when it passes as it is.
/// </summary>
public sealed record ListingVerdict(byte[]? Body, ArtifactDecision? Refusal, string? Commit)
{
    public static readonly ListingVerdict Unchanged = new(null, null, null);
}
