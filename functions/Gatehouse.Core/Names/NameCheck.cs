using System.Collections.Frozen;

namespace Gatehouse.Names;

/// <summary>A name that imitates a popular project: which one, how, and how many edits apart the two spellings are.</summary>
/// <param name="Target">The imitated project, PEP 503-normalised.</param>
/// <param name="Technique">
/// <c>confusable</c>, <c>separator</c>, <c>repeated</c>, <c>omitted</c>, <c>swapped</c>, <c>swapped-words</c>, <c>typo</c>,
/// <c>bitflip</c> or <c>edit-distance</c>.
/// </param>
/// <param name="Distance">Optimal string alignment distance between the normalised name and the target.</param>
public sealed record TyposquatMatch(string Target, string Technique, int Distance);

/// <summary>What is known about a project's releases; null <see cref="FirstRelease"/> when it has none (or none known).</summary>
public sealed record ProjectHistory(DateTimeOffset? FirstRelease, int ReleaseCount);

/// <summary>
/// Checks on a package name alone, before any byte is read: does it imitate a popular project (a typosquat), and does
/// it have the shape of a name a language model invents and an attacker registers (a "slopsquat")? Both only give
/// signals; the policy decides what they are worth.
/// </summary>
public static class NameCheck
{
    /// <summary>Names shorter than this are too dense to mutate (most three-letter spellings are somebody's project).</summary>
    public const int MinimumMutationLength = 4;

    /// <summary>Names at least this long are compared by edit distance 1 against the top list.</summary>
    public const int OneEditMinimumLength = 5;

    /// <summary>Names at least this long are compared by edit distance 2 against the top list.</summary>
    public const int TwoEditMinimumLength = 10;

    /// <summary>Longer names are not mutated (PyPI has no limit; a name this long imitates nothing by one typo).</summary>
    public const int MaximumCheckedLength = 128;

    /// <summary>A project name's stem (the part before a <c>-</c>) must be at least this long to count.</summary>
    public const int MinimumStemLength = 3;

    /// <summary>A project first released less than this long ago is young.</summary>
    public static readonly TimeSpan YoungAge = TimeSpan.FromDays(90);

    /// <summary>A project with fewer releases than this has few.</summary>
    public const int FewReleases = 3;

    public const string YoungSignal = "name.young";
    public const string FewReleasesSignal = "name.few-releases";
    public const string NotPopularSignal = "name.not-popular";
    public const string HallucinationShapeSignal = "name.hallucination-shape";

    /// <summary>
    /// What a name with a real project's stem gets appended when a language model invents it (Lasso Security, 2024: the
    /// invented <c>huggingface-cli</c> next to the real <c>huggingface-hub</c> was downloaded thousands of times once
    /// registered), and the Python prefixes that make a name look like the binding of a real one.
    /// </summary>
    private static readonly string[] HallucinatedSuffixes =
        ["-utils", "-util", "-helper", "-helpers", "-tools", "-py", "-sdk", "-api", "-client", "-cli", "-lib", "-wrapper", "-extended", "-plus", "-pro"];

    private static readonly string[] HallucinatedPrefixes = ["py-", "python-"];

    /// <summary>
    /// Prefixes and suffixes that turn a project's name into another plausible one (<c>dateutil</c> → <c>python-dateutil</c>,
    /// <c>pandas-py</c> → <c>pandas</c>), compared without separators.
    /// </summary>
    private static readonly string[] PythonAffixes = ["python", "py"];

    /// <summary>
    /// Common typos, after pypi/warehouse <c>warehouse/packaging/typosnyper.py</c>: each key's neighbours on a QWERTY
    /// keyboard, and spellings that look alike (<c>rn</c>/<c>m</c>, <c>vv</c>/<c>w</c>, <c>cl</c>/<c>d</c>, <c>1</c>/<c>l</c>/<c>i</c>,
    /// <c>0</c>/<c>o</c>).
    /// </summary>
    private static readonly FrozenDictionary<char, (string From, string To)[]> Typos = BuildTypos();

    /// <summary>
    /// The popular project <paramref name="name"/> imitates, or null. A name on the top list is never a typosquat (two
    /// popular projects with close names, like <c>boto</c> and <c>boto3</c>, are both real). Checks run from the most
    /// specific to the most general and the first that matches answers, with its most popular target. A match is a signal
    /// to weigh, not a verdict: of the real projects ranked 5001–15000 in the same download list, 495 in 10000 match one of
    /// the top 5000, 291 of them by edit distance alone (<c>pyshark</c> and <c>pyspark</c>, <c>scanpy</c> and <c>scapy</c>).
    /// </summary>
    public static TyposquatMatch? Typosquat(string name, TopProjects top)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(top);
        var trimmed = name.Trim();
        if (trimmed.Length == 0)
        {
            return null;
        }
        var given = ProjectName.Normalise(trimmed);
        var normalised = given;
        if (Confusables.HasNonAscii(trimmed))
        {
            // Before PEP 503: lookalikes are read as the ASCII letters they imitate.
            if (Confusables.Skeleton(trimmed) is not { } skeleton)
            {
                return null;
            }
            normalised = ProjectName.Normalise(skeleton);
            if (top.Contains(normalised))
            {
                return Match(given, normalised, "confusable");
            }
        }
        else if (top.Contains(normalised))
        {
            return null;
        }
        if (normalised.Length > MaximumCheckedLength || !normalised.All(ProjectName.IsNameChar))
        {
            return null;
        }

        var index = top.Index;
        int found;
        if ((found = Separator(normalised, top)) >= 0)
        {
            return Match(given, top[found], "separator");
        }
        if ((found = index.Ultranormal(ProjectName.Ultranormalise(normalised))) >= 0)
        {
            return Match(given, top[found], "confusable");
        }
        if (normalised.Length < MinimumMutationLength)
        {
            return null;
        }
        if ((found = Repeated(normalised, top)) >= 0)
        {
            return Match(given, top[found], "repeated");
        }
        if ((found = Omitted(normalised, top)) >= 0)
        {
            return Match(given, top[found], "omitted");
        }
        if ((found = Swapped(normalised, top)) >= 0)
        {
            return Match(given, top[found], "swapped");
        }
        if ((found = SwappedWords(normalised, top)) >= 0)
        {
            return Match(given, top[found], "swapped-words");
        }
        if ((found = Typo(normalised, top)) >= 0)
        {
            return Match(given, top[found], "typo");
        }
        if ((found = Bitflip(normalised, top)) >= 0)
        {
            return Match(given, top[found], "bitflip");
        }
        return EditDistance(normalised, top) is { } near ? Match(given, top[near], "edit-distance") : null;
    }

    /// <summary>
    /// Signals that a name may be one nobody meant to publish: <c>name.young</c> (first release under
    /// <see cref="YoungAge"/> ago, or none known), <c>name.few-releases</c> (under <see cref="FewReleases"/>),
    /// <c>name.not-popular</c> (absent from the top list) and <c>name.hallucination-shape</c> (a top project, or its stem,
    /// plus a prefix or suffix that language models invent, the whole name not itself on the list).
    /// </summary>
    public static IReadOnlyList<string> Slopsquat(string name, ProjectHistory history, TopProjects top, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(top);
        var normalised = ProjectName.Normalise(name.Trim());
        var signals = new List<string>();
        if (history.FirstRelease is not { } first || now - first < YoungAge)
        {
            signals.Add(YoungSignal);
        }
        if (history.ReleaseCount < FewReleases)
        {
            signals.Add(FewReleasesSignal);
        }
        if (!top.Contains(normalised))
        {
            signals.Add(NotPopularSignal);
            if (HasHallucinationShape(normalised, top))
            {
                signals.Add(HallucinationShapeSignal);
            }
        }
        return signals;
    }

    /// <summary>A known project or stem with an invented prefix, an invented suffix, or both (<c>python-requests-wrapper</c>).</summary>
    private static bool HasHallucinationShape(string normalised, TopProjects top)
    {
        bool IsKnownStem(string rest) =>
            rest.Length >= MinimumStemLength && (top.Contains(rest) || top.Index.Stem(rest) >= 0);
        var withoutPrefix = HallucinatedPrefixes.Where(p => normalised.StartsWith(p, StringComparison.Ordinal)).Select(p => normalised[p.Length..]).ToList();
        if (withoutPrefix.Any(IsKnownStem))
        {
            return true;
        }
        return withoutPrefix.Append(normalised).Any(rest => HallucinatedSuffixes.Any(suffix =>
            rest.EndsWith(suffix, StringComparison.Ordinal) && IsKnownStem(rest[..^suffix.Length])));
    }

    private static TyposquatMatch Match(string given, string target, string technique) =>
        new(target, technique, ProjectName.Distance(given, target));

    /// <summary>The same name with other separators, or with a Python prefix or suffix added or removed.</summary>
    private static int Separator(string normalised, TopProjects top)
    {
        var index = top.Index;
        var collapsed = ProjectName.Collapse(normalised);
        var best = Better(-1, index.Collapsed(collapsed), normalised, top);
        if (normalised.Length < MinimumMutationLength)
        {
            return best;
        }
        foreach (var affix in PythonAffixes)
        {
            if (collapsed.Length - affix.Length >= MinimumMutationLength - 1)
            {
                if (collapsed.StartsWith(affix, StringComparison.Ordinal))
                {
                    best = Better(best, index.Collapsed(collapsed[affix.Length..]), normalised, top);
                }
                if (collapsed.EndsWith(affix, StringComparison.Ordinal))
                {
                    best = Better(best, index.Collapsed(collapsed[..^affix.Length]), normalised, top);
                }
            }
            best = Better(best, index.Collapsed(affix + collapsed), normalised, top);
            best = Better(best, index.Collapsed(collapsed + affix), normalised, top);
        }
        return best;
    }

    /// <summary>A doubled character typed once too often: <c>requestss</c>.</summary>
    private static int Repeated(string name, TopProjects top)
    {
        Span<char> buffer = stackalloc char[name.Length];
        var best = -1;
        for (var i = 1; i < name.Length; i++)
        {
            if (name[i] == name[i - 1])
            {
                name.AsSpan(0, i).CopyTo(buffer);
                name.AsSpan(i + 1).CopyTo(buffer[i..]);
                best = Better(best, top.IndexOf(buffer[..(name.Length - 1)]));
            }
        }
        return best;
    }

    /// <summary>
    /// A character left out: <c>requets</c>. The name is then one of the target's one-character deletions, which the
    /// index holds, so one lookup finds every target instead of inserting each character at each place.
    /// </summary>
    private static int Omitted(string name, TopProjects top)
    {
        var candidates = new List<int>();
        top.Index.Candidates(name, 0, candidates);
        var best = -1;
        foreach (var candidate in candidates)
        {
            var target = top[candidate];
            if (target.Length == name.Length + 1 && IsOneDeletion(target, name))
            {
                best = Better(best, candidate);
            }
        }
        return best;
    }

    /// <summary>True when <paramref name="shorter"/> is <paramref name="longer"/> with one character left out.</summary>
    private static bool IsOneDeletion(string longer, string shorter)
    {
        var common = longer.AsSpan().CommonPrefixLength(shorter);
        return longer.AsSpan(common + 1).SequenceEqual(shorter.AsSpan(common));
    }

    /// <summary>Two adjacent characters swapped: <c>reqeusts</c>.</summary>
    private static int Swapped(string name, TopProjects top)
    {
        Span<char> buffer = stackalloc char[name.Length];
        name.AsSpan().CopyTo(buffer);
        var best = -1;
        for (var i = 0; i + 1 < name.Length; i++)
        {
            if (name[i] != name[i + 1])
            {
                (buffer[i], buffer[i + 1]) = (buffer[i + 1], buffer[i]);
                best = Better(best, top.IndexOf(buffer));
                (buffer[i], buffer[i + 1]) = (buffer[i + 1], buffer[i]);
            }
        }
        return best;
    }

    /// <summary>The words of a dashed name in another order: <c>dateutil-python</c>.</summary>
    private static int SwappedWords(string name, TopProjects top)
    {
        var words = name.Split('-');
        if (words.Length is < 2 or > 4)
        {
            return -1;
        }
        var best = -1;
        foreach (var order in Permutations(words.Length))
        {
            var candidate = string.Join('-', order.Select(i => words[i]));
            if (!string.Equals(candidate, name, StringComparison.Ordinal))
            {
                best = Better(best, top.IndexOf(candidate));
            }
        }
        return best;
    }

    /// <summary>A neighbouring key or a lookalike spelling: <c>nunpy</c>, <c>rnatplotlib</c>.</summary>
    private static int Typo(string name, TopProjects top)
    {
        Span<char> buffer = stackalloc char[name.Length + 1];
        var best = -1;
        for (var at = 0; at < name.Length; at++)
        {
            if (!Typos.TryGetValue(name[at], out var typos))
            {
                continue;
            }
            foreach (var (from, to) in typos)
            {
                if (at + from.Length > name.Length || string.CompareOrdinal(name, at, from, 0, from.Length) != 0)
                {
                    continue;
                }
                var length = name.Length - from.Length + to.Length;
                name.AsSpan(0, at).CopyTo(buffer);
                to.AsSpan().CopyTo(buffer[at..]);
                name.AsSpan(at + from.Length).CopyTo(buffer[(at + to.Length)..]);
                best = Better(best, top.IndexOf(buffer[..length]));
            }
        }
        return best;
    }

    /// <summary>One bit of one character flipped (a memory or transmission error; rustfoundation/typomania's bitflip check).</summary>
    private static int Bitflip(string name, TopProjects top)
    {
        Span<char> buffer = stackalloc char[name.Length];
        name.AsSpan().CopyTo(buffer);
        var best = -1;
        for (var i = 0; i < name.Length; i++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var flipped = (char)(name[i] ^ (1 << bit));
                if (ProjectName.IsNameChar(flipped))
                {
                    buffer[i] = flipped;
                    best = Better(best, top.IndexOf(buffer));
                }
            }
            buffer[i] = name[i];
        }
        return best;
    }

    /// <summary>The nearest, then most popular, project within 1 edit (names of 5+) or 2 edits (names of 10+).</summary>
    private static int? EditDistance(string name, TopProjects top)
    {
        var limit = name.Length >= TwoEditMinimumLength ? 2 : name.Length >= OneEditMinimumLength ? 1 : 0;
        if (limit == 0)
        {
            return null;
        }
        var candidates = new List<int>();
        top.Index.Candidates(name, limit, candidates);
        int? best = null;
        var bestDistance = limit + 1;
        foreach (var candidate in candidates)
        {
            var distance = ProjectName.Distance(name, top[candidate], limit);
            if (distance < bestDistance || (distance == bestDistance && candidate < best))
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        return bestDistance <= limit ? best : null;
    }

    private static int Better(int best, int candidate) => candidate >= 0 && (best < 0 || candidate < best) ? candidate : best;

    private static int Better(int best, int candidate, string name, TopProjects top) =>
        candidate >= 0 && !string.Equals(top[candidate], name, StringComparison.Ordinal) ? Better(best, candidate) : best;

    private static IEnumerable<int[]> Permutations(int count)
    {
        var order = Enumerable.Range(0, count).ToArray();
        yield return [.. order];
        // Heap's algorithm, iterative.
        var c = new int[count];
        for (var i = 1; i < count;)
        {
            if (c[i] < i)
            {
                var j = i % 2 == 0 ? 0 : c[i];
                (order[j], order[i]) = (order[i], order[j]);
                yield return [.. order];
                c[i]++;
                i = 1;
            }
            else
            {
                c[i] = 0;
                i++;
            }
        }
    }

    private static FrozenDictionary<char, (string From, string To)[]> BuildTypos()
    {
        string[] rows = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"];
        var typos = new List<(string, string)>();
        for (var r = 0; r < rows.Length; r++)
        {
            for (var i = 0; i < rows[r].Length; i++)
            {
                var key = rows[r][i].ToString();
                // On a staggered keyboard a key touches its row neighbours, two keys above (same column and the next) and
                // two below (the previous column and the same).
                foreach (var (row, column) in new[] { (r, i - 1), (r, i + 1), (r - 1, i), (r - 1, i + 1), (r + 1, i - 1), (r + 1, i) })
                {
                    if (row >= 0 && row < rows.Length && column >= 0 && column < rows[row].Length)
                    {
                        typos.Add((key, rows[row][column].ToString()));
                    }
                }
            }
        }
        (string, string)[] lookalikes = [("m", "rn"), ("w", "vv"), ("d", "cl"), ("1", "l"), ("1", "i"), ("l", "i"), ("0", "o"), ("u", "v")];
        foreach (var (a, b) in lookalikes)
        {
            typos.Add((a, b));
            typos.Add((b, a));
        }
        return typos.GroupBy(t => t.Item1[0]).ToFrozenDictionary(g => g.Key, g => g.ToArray());
    }
}
