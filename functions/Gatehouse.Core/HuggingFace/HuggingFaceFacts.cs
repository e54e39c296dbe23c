using System.Globalization;
using System.Text.Json.Nodes;
using Gatehouse.Licences;
using Gatehouse.Names;
using Gatehouse.Pipeline;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;

namespace Gatehouse.HuggingFace;

/// <summary>
/// What the Hub says of a repository at a commit, for the policy: its model card's licence (<c>cardData.license</c>,
/// with <c>license_name</c> for <c>other</c>), the commit's date (<c>lastModified</c> of the revision), whether it is
/// gated, and its author and creation date, which Gatehouse remembers to notice a namespace that was deleted and
/// registered again. An answer at a commit never changes, so it is kept a day; the namespace check runs each time.
/// </summary>
public sealed class HuggingFaceFacts(HuggingFaceUpstream upstream, NamespaceCheck namespaces, IMemoryCache cache, ILogger<HuggingFaceFacts> log)
{
    public const string RepositorySource = "repository";
    public const string NamespaceSource = "namespace";
    private static readonly TimeSpan PinnedTtl = TimeSpan.FromHours(24);

    public async Task<ReferenceFacts> GatherAsync(ArtifactReference reference, CancellationToken cancellationToken)
    {
        if (Parse(reference.Subject) is not var (repoType, repoId, commit))
        {
            return new ReferenceFacts { Unavailable = [RepositorySource] };
        }
        var organisation = repoId.Contains('/', StringComparison.Ordinal) ? repoId[..repoId.IndexOf('/', StringComparison.Ordinal)] : null;
        var facts = new ReferenceFacts { Project = repoId, Version = commit, Organisation = organisation, Pinned = null };
        var info = await InfoAsync(repoType, repoId, commit, cancellationToken);
        if (info is null)
        {
            return facts with { Unavailable = [RepositorySource] };
        }
        var author = Text(info["author"]);
        var createdAt = Time(info["createdAt"]);
        IReadOnlyList<string> signals;
        List<string> unavailable = [];
        try
        {
            signals = await namespaces.CheckAsync((repoType == "datasets" ? "datasets/" : "") + repoId, author, createdAt, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogWarning(e, "The namespace of {Repo} could not be checked", repoId);
            signals = [];
            unavailable.Add(NamespaceSource);
        }
        var card = info["cardData"] as JsonObject;
        var licence = Licence.FromHuggingFace(LicenceText(card?["license"]), Text(card?["license_name"]));
        return facts with
        {
            Organisation = author ?? organisation,
            Licence = new LicenceInfo(licence.Expression, licence.Source, licence.Raw),
            Name = new NameInfo(null, null, signals),
            PublishedAt = Time(info["lastModified"]),
            Gated = info["gated"] switch
            {
                JsonValue value when value.TryGetValue<bool>(out var flag) => flag,
                JsonValue value when value.TryGetValue<string>(out var mode) => mode is "auto" or "manual",
                _ => null,
            },
            Unavailable = unavailable,
        };
    }

    /// <summary>
    /// Keeps a full info answer the API relay already has (a branch's info is its current commit's), so deciding on it
    /// costs no second upstream call.
    /// </summary>
    public void Remember(string repoType, string repoId, string commit, JsonObject info) =>
        cache.Set("hf-facts:" + InfoPath(repoType, repoId, commit), info, PinnedTtl);

    private static string InfoPath(string repoType, string repoId, string commit) => $"api/{repoType}/{repoId}/revision/{Uri.EscapeDataString(commit)}";

    /// <summary>
    /// The model card's metadata (<c>cardData</c>, the README's YAML front matter as the Hub reads it) of a repository at
    /// a commit, a copy of the same cached Hub answer the facts come from; null when the Hub gave none.
    /// </summary>
    public async Task<JsonObject?> CardDataAsync(string subject, CancellationToken cancellationToken) =>
        Parse(subject) is var (repoType, repoId, commit) && await InfoAsync(repoType, repoId, commit, cancellationToken) is { } info
            && info["cardData"] is JsonObject card
            ? (JsonObject)card.DeepClone()
            : null;

    /// <summary>"org/name@commit" or "datasets/org/name@commit" (the reference's subject) into its parts.</summary>
    internal static (string RepoType, string RepoId, string Commit)? Parse(string subject)
    {
        var at = subject.LastIndexOf('@');
        if (at <= 0 || at == subject.Length - 1)
        {
            return null;
        }
        var repo = subject[..at];
        return repo.StartsWith("datasets/", StringComparison.Ordinal) ? ("datasets", repo["datasets/".Length..], subject[(at + 1)..]) : ("models", repo, subject[(at + 1)..]);
    }

    private async Task<JsonObject?> InfoAsync(string repoType, string repoId, string commit, CancellationToken cancellationToken)
    {
        var path = InfoPath(repoType, repoId, commit);
        if (cache.TryGetValue("hf-facts:" + path, out JsonObject? cached) && cached is not null)
        {
            return cached;
        }
        using var response = await upstream.SendApiAsync(HttpMethod.Get, path, null, null, cancellationToken);
        if (response.Failure is { } failure || !response.IsSuccess)
        {
            log.LogWarning("Hugging Face info for {Repo} at {Commit} unavailable: {Problem}", repoId, commit, response.Failure?.Message ?? $"HTTP {response.Status}");
            return null;
        }
        var (json, _) = await response.ReadJsonAsync(cancellationToken);
        if (json is not JsonObject info)
        {
            return null;
        }
        cache.Set("hf-facts:" + path, info, PinnedTtl);
        return info;
    }

    /// <summary>A card's licence is a string, or (rarely) a list of them: a list reads as a choice between them.</summary>
    private static string? LicenceText(JsonNode? node) => node switch
    {
        JsonArray list => string.Join(" OR ", list.Select(Text).OfType<string>()),
        _ => Text(node),
    };

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static DateTimeOffset? Time(JsonNode? node) =>
        Text(node) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
}
