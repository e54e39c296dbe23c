using System.Text.RegularExpressions;
using Gatehouse.Audit;
using Gatehouse.Pipeline;
using Gatehouse.Tokens;

namespace Gatehouse.Admin;

/// <summary>What the artifact search found, newest decision first, and whether more matched than were listed.</summary>
public sealed record ArtifactMatches(IReadOnlyList<CatalogReference> Items, bool Truncated);

/// <summary>
/// The console's artifact search over every reference. One text matches any of: a sha256 (64 hex digits, exactly; the
/// content's own index answers it without a walk), a hex prefix of at least <see cref="MinSha256Prefix"/> digits of
/// the sha256, a subject (project or repository, any case, part of it), a file name (part of it, any case), a version
/// (exactly, PyPI and uploads), or a token's id or name (the files that token downloaded, from the audit's token index).
/// No text lists the newest decisions.
/// </summary>
public sealed partial class ArtifactSearch(IReferenceCatalog catalog, IReferenceStore references, AuditReader audit, EntitlementTokenService tokens,
    TimeProvider time)
{
    /// <summary>The window the newest decisions are looked for first; the whole table is walked only when it holds too few.</summary>
    public static readonly TimeSpan RecentWindow = TimeSpan.FromDays(1);

    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    /// <summary>Shorter hex prefixes would match a good share of every content; they are still searched as subjects and names.</summary>
    public const int MinSha256Prefix = 8;

    /// <summary>The most download records read for one token (newest first): its recent downloads, not its whole history.</summary>
    public const int MaxTokenDownloads = 10_000;

    [GeneratedRegex("^[0-9a-fA-F]+\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Hex();

    /// <summary>The references matching <paramref name="text"/> (null or empty: every decided one) of <paramref name="remote"/> (null: every remote).</summary>
    public async Task<ArtifactMatches> SearchAsync(string? text, string? remote, int limit, CancellationToken cancellationToken)
    {
        var q = text?.Trim() ?? "";
        var found = new Found(limit);
        if (q.Length == 64 && Hex().IsMatch(q))
        {
            foreach (var stored in await references.ReferencesToAsync(q.ToLowerInvariant(), cancellationToken))
            {
                found.Add(ReferenceCatalog.Of(stored), remote);
            }
            return found.Result();
        }
        if (q.Length == 0)
        {
            // More decisions than the limit in the last day hold the newest ones: no walk over every reference.
            var recent = new Found(limit);
            await foreach (var row in catalog.ListAsync(ReferenceColumns.Listing, time.GetUtcNow() - RecentWindow, cancellationToken))
            {
                if (row.Decision is not null)
                {
                    recent.Add(row, remote);
                }
            }
            if (recent.Result() is { Truncated: true } newest)
            {
                return newest;
            }
        }
        var prefix = q.Length >= MinSha256Prefix && Hex().IsMatch(q) ? q.ToLowerInvariant() : null;
        await foreach (var row in catalog.ListAsync(ReferenceColumns.Listing, null, cancellationToken))
        {
            var matches = q.Length == 0
                ? row.Decision is not null
                : (prefix is not null && row.Sha256.StartsWith(prefix, StringComparison.Ordinal))
                    || row.Subject.Contains(q, StringComparison.OrdinalIgnoreCase)
                    || row.File.Contains(q, StringComparison.OrdinalIgnoreCase)
                    || row.Version == q;
            if (matches)
            {
                found.Add(row, remote);
            }
        }
        if (q.Length > 0)
        {
            foreach (var row in await DownloadedByAsync(q, cancellationToken))
            {
                found.Add(row, remote);
            }
        }
        return found.Result();
    }

    /// <summary>The references that the tokens named <paramref name="q"/> (by id, or by name in any case) downloaded, as recorded now.</summary>
    private async Task<IReadOnlyList<CatalogReference>> DownloadedByAsync(string q, CancellationToken cancellationToken)
    {
        var named = (await tokens.ListAsync(cancellationToken)).Where(t => t.Id == q || string.Equals(t.Name, q, StringComparison.OrdinalIgnoreCase)).ToList();
        var keys = new HashSet<(string Partition, string Row)>();
        var contents = new HashSet<string>(StringComparer.Ordinal);
        foreach (var token in named)
        {
            string? continuation = null;
            var read = 0;
            do
            {
                var page = await audit.QueryAsync(new AuditQuery(null, token.Id, null, null, AuditActions.DownloadAction, AuditQuery.MaxLimit, continuation), cancellationToken);
                foreach (var artifact in page.Records.Select(r => r.Artifact).OfType<AuditArtifact>())
                {
                    if (artifact is { ReferencePartition: { } partition, ReferenceRow: { } row })
                    {
                        keys.Add((partition, row));
                    }
                    else if (artifact.Sha256 is { Length: 64 } sha256)
                    {
                        // A record that does not name its reference: every reference to its content.
                        contents.Add(sha256);
                    }
                }
                read += page.Records.Count;
                continuation = page.Continuation;
            }
            while (continuation is not null && read < MaxTokenDownloads);
        }
        var rows = new List<CatalogReference>();
        foreach (var (partition, row) in keys)
        {
            if (await catalog.GetAsync(partition, row, cancellationToken) is { } found)
            {
                rows.Add(found);
            }
        }
        foreach (var sha256 in contents)
        {
            rows.AddRange((await references.ReferencesToAsync(sha256, cancellationToken)).Select(ReferenceCatalog.Of));
        }
        return rows;
    }

    /// <summary>The newest <c>limit</c> matches (each reference once) and how many there were in all.</summary>
    private sealed class Found(int limit)
    {
        private readonly PriorityQueue<CatalogReference, CatalogReference> _newest = new(limit + 1, ConsoleStats.NewestLast.Instance);
        private readonly HashSet<(string, string)> _seen = [];

        public void Add(CatalogReference row, string? remote)
        {
            if ((remote is null || row.Remote == remote) && _seen.Add((row.Partition, row.Row)))
            {
                _newest.Enqueue(row, row);
                if (_newest.Count > limit)
                {
                    _newest.Dequeue();
                }
            }
        }

        public ArtifactMatches Result() =>
            new([.. _newest.UnorderedItems.Select(i => i.Element).Order(ConsoleStats.NewestFirst.Instance)], _seen.Count > limit);
    }
}
