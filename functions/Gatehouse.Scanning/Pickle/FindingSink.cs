using System.Diagnostics;

namespace Gatehouse.Scanning.Pickle;

/// <summary>
/// Collects findings for one scan: the same rule on the same global at the same call site is reported once with a count,
/// and the total is capped so that a hostile file cannot grow the report without bound.
/// </summary>
internal sealed class FindingSink(int maxFindings = 1000)
{
    private readonly List<Entry> _entries = [];
    private readonly Dictionary<(string Rule, string? Global, string? CallSite, string? Path), int> _index = [];
    private bool _capped;

    public int Mark => _entries.Count;

    public void Add(string rule, ScanLevel level, string message, string? path, long? offset, string? global = null, string? callSite = null)
    {
        var key = (rule, global, callSite, path);
        if (_index.TryGetValue(key, out var at))
        {
            _entries[at].Count++;
            if (level > _entries[at].Finding.Level)
            {
                _entries[at].Finding = _entries[at].Finding with { Level = level };
            }
            return;
        }
        if (_entries.Count >= maxFindings)
        {
            if (!_capped)
            {
                _capped = true;
                _entries.Add(new Entry(new ModelFinding(PickleRules.LimitFindings, ScanLevel.Suspicious,
                    $"More than {maxFindings} distinct findings; the rest are not listed.", path, offset)));
            }
            // Never lose the worst level: a later Dangerous finding replaces the cap notice's level.
            var last = _entries[^1];
            if (level > last.Finding.Level)
            {
                last.Finding = last.Finding with { Level = level, Message = $"{last.Finding.Message} A later finding was {level}: {message}" };
            }
            return;
        }
        _index[key] = _entries.Count;
        _entries.Add(new Entry(new ModelFinding(rule, level, message, path, offset, global, callSite)));
    }

    public void Add(ModelFinding finding) =>
        Add(finding.Rule, finding.Level, finding.Message, finding.Path, finding.Offset, finding.Global, finding.CallSite);

    /// <summary>True when a finding other than a parse error was added since <paramref name="mark"/>.</summary>
    public bool HasBehaviourSince(int mark)
    {
        for (var i = mark; i < _entries.Count; i++)
        {
            if (!PickleRules.IsParseError(_entries[i].Finding.Rule) && _entries[i].Finding.Level > ScanLevel.Safe)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Forgets the parse errors added since <paramref name="mark"/>, keeping imports and calls.</summary>
    public void RemoveParseErrorsSince(int mark)
    {
        var kept = _entries.Skip(mark).Where(e => !PickleRules.IsParseError(e.Finding.Rule)).ToList();
        Rollback(mark);
        foreach (var entry in kept)
        {
            _index[(entry.Finding.Rule, entry.Finding.Global, entry.Finding.CallSite, entry.Finding.Path)] = _entries.Count;
            _entries.Add(entry);
        }
    }

    /// <summary>Forgets the findings of rule <paramref name="rule"/> added since <paramref name="mark"/>, keeping the rest.</summary>
    public void RemoveRuleSince(int mark, string rule)
    {
        var kept = _entries.Skip(mark).Where(e => e.Finding.Rule != rule).ToList();
        Rollback(mark);
        foreach (var entry in kept)
        {
            _index[(entry.Finding.Rule, entry.Finding.Global, entry.Finding.CallSite, entry.Finding.Path)] = _entries.Count;
            _entries.Add(entry);
        }
    }

    /// <summary>Forgets what was added since <paramref name="mark"/> (a speculative parse that turned out to be data).</summary>
    public void Rollback(int mark)
    {
        Debug.Assert(mark <= _entries.Count);
        if (mark >= _entries.Count)
        {
            return;
        }
        _entries.RemoveRange(mark, _entries.Count - mark);
        foreach (var key in _index.Where(kv => kv.Value >= mark).Select(kv => kv.Key).ToList())
        {
            _index.Remove(key);
        }
        _capped = _entries.Any(e => e.Finding.Rule == PickleRules.LimitFindings);
    }

    public IReadOnlyList<ModelFinding> ToList() => _entries
        .Select(e => e.Count > 1 ? e.Finding with { Message = $"{e.Finding.Message} ({e.Count} occurrences)" } : e.Finding)
        .ToList();

    private sealed class Entry(ModelFinding finding)
    {
        public ModelFinding Finding { get; set; } = finding;

        public int Count { get; set; } = 1;
    }
}

/// <summary>The opcode, time and memory budget shared by a scan and every pickle nested in it.</summary>
internal sealed class ScanBudget(ScanLimits limits, MemoryBudget memory)
{
    private readonly long _deadline = limits.MaxDuration >= TimeSpan.FromDays(365)
        ? long.MaxValue
        : Stopwatch.GetTimestamp() + (long)(Math.Max(0, limits.MaxDuration.TotalSeconds) * Stopwatch.Frequency);

    public long Opcodes;

    public ScanLimits Limits { get; } = limits;

    /// <summary>Shared by every pickle of the file when the scanner was given a file's budget, else by this session's pickles.</summary>
    public MemoryBudget Memory { get; } = memory;

    /// <summary>Set once a limit was hit and reported: every machine sharing the budget stops.</summary>
    public string? ExhaustedRule { get; set; }

    public bool PastDeadline => Stopwatch.GetTimestamp() > _deadline;
}
