namespace Gatehouse.Names;

/// <summary>
/// Lookups over a top list, built once: each project by its separator-free and ultranormalised spelling, the stems a
/// project name is built on, and a deletion neighbourhood (the SymSpell idea, Wolf Garbe 2012: two names within edit
/// distance d share a spelling reached by deleting at most d characters from each) so the edit-distance check looks up
/// a few dozen keys instead of comparing against every project.
/// </summary>
internal sealed class NameIndex
{
    /// <summary>Projects at least this long get their two-character deletions indexed (queries of 10+ may be 2 edits off).</summary>
    private const int TwoDeletionMinimumLength = NameCheck.TwoEditMinimumLength - 2;

    /// <summary>Projects at least this long get their one-character deletions indexed.</summary>
    private const int OneDeletionMinimumLength = NameCheck.OneEditMinimumLength - 1;

    private readonly Dictionary<string, int> _collapsed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _ultranormal = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _stems = new(StringComparer.Ordinal);

    // Deletion keys are kept as their hash: a chain per hash (_heads → _entries) of project indexes, each verified by
    // the true distance afterwards, so a hash collision costs one comparison and never a wrong answer.
    private readonly Dictionary<int, int> _heads = [];
    private readonly List<(int Project, int Next)> _entries = [];

    public NameIndex(IReadOnlyList<string> names)
    {
        var hashBuffer = new int[DeletionCount(64, 2)];
        for (var i = 0; i < names.Count; i++)
        {
            var name = names[i];
            _collapsed.TryAdd(ProjectName.Collapse(name), i);
            _ultranormal.TryAdd(ProjectName.Ultranormalise(name), i);
            for (var dash = name.IndexOf('-', StringComparison.Ordinal); dash >= 0; dash = name.IndexOf('-', dash + 1))
            {
                if (dash >= NameCheck.MinimumStemLength)
                {
                    _stems.TryAdd(name[..dash], i);
                }
            }
            var deletions = name.Length >= TwoDeletionMinimumLength ? 2 : name.Length >= OneDeletionMinimumLength ? 1 : 0;
            if (deletions > 0)
            {
                var hashes = hashBuffer.Length >= DeletionCount(name.Length, deletions) ? hashBuffer : new int[DeletionCount(name.Length, deletions)];
                foreach (var hash in hashes.AsSpan(0, DeletionHashes(name, deletions, hashes)))
                {
                    Add(hash, i);
                }
            }
        }
    }

    /// <summary>The most popular project spelled the same without separators, or -1.</summary>
    public int Collapsed(string collapsed) => _collapsed.GetValueOrDefault(collapsed, -1);

    /// <summary>The most popular project with the same ultranormalised spelling, or -1.</summary>
    public int Ultranormal(string ultranormal) => _ultranormal.GetValueOrDefault(ultranormal, -1);

    /// <summary>The most popular project whose name starts with <paramref name="stem"/> and a <c>-</c>, or -1.</summary>
    public int Stem(string stem) => _stems.GetValueOrDefault(stem, -1);

    /// <summary>Every project sharing a deletion spelling with <paramref name="name"/> within <paramref name="deletions"/>; may repeat.</summary>
    public void Candidates(string name, int deletions, List<int> into)
    {
        var count = DeletionCount(name.Length, deletions);
        var hashes = count <= 1024 ? stackalloc int[count] : new int[count];
        foreach (var hash in hashes[..DeletionHashes(name, deletions, hashes)])
        {
            if (_heads.TryGetValue(hash, out var at))
            {
                for (; at >= 0; at = _entries[at].Next)
                {
                    into.Add(_entries[at].Project);
                }
            }
        }
    }

    private void Add(int hash, int project)
    {
        var next = _heads.TryGetValue(hash, out var head) ? head : -1;
        if (next >= 0 && _entries[next].Project == project)
        {
            return;
        }
        _heads[hash] = _entries.Count;
        _entries.Add((project, next));
    }

    /// <summary>How many spellings <see cref="DeletionHashes"/> gives at most: the name, and each with one or two characters deleted.</summary>
    private static int DeletionCount(int length, int deletions) => 1 + length + (deletions < 2 ? 0 : length * (length - 1) / 2);

    /// <summary>Writes the hash of the name itself and of each spelling with up to <paramref name="deletions"/> characters deleted.</summary>
    private static int DeletionHashes(string name, int deletions, Span<int> into)
    {
        Span<char> buffer = stackalloc char[name.Length];
        var count = 0;
        into[count++] = string.GetHashCode(name.AsSpan(), StringComparison.Ordinal);
        for (var i = 0; i < name.Length; i++)
        {
            name.AsSpan(0, i).CopyTo(buffer);
            name.AsSpan(i + 1).CopyTo(buffer[i..]);
            into[count++] = string.GetHashCode(buffer[..(name.Length - 1)], StringComparison.Ordinal);
            if (deletions < 2)
            {
                continue;
            }
            for (var j = i + 1; j < name.Length; j++)
            {
                name.AsSpan(0, i).CopyTo(buffer);
                name.AsSpan(i + 1, j - i - 1).CopyTo(buffer[i..]);
                name.AsSpan(j + 1).CopyTo(buffer[(j - 1)..]);
                into[count++] = string.GetHashCode(buffer[..(name.Length - 2)], StringComparison.Ordinal);
            }
        }
        return count;
    }
}
