using Gatehouse.Pipeline;

namespace Gatehouse.Rescans;

/// <summary>
/// Input of one execution of <see cref="RescanOrchestrator"/>: the run's settings, and after the first batch where it
/// stands (the execution continues as new after every batch, carrying these).
/// </summary>
/// <param name="Trigger">Who started it ("schedule", "admin …").</param>
/// <param name="BatchSize">References read per batch.</param>
/// <param name="Parallelism">Activities run at once.</param>
/// <param name="OsvCovered">The OSV import the last completed rescan compared with.</param>
/// <param name="Continuation">Where the next batch starts in the <c>references</c> table; null for the first.</param>
/// <param name="Progress">The counts so far; null before the first batch.</param>
public sealed record RescanInput(string Trigger, int BatchSize, int Parallelism, DateTimeOffset? OsvCovered, string? Continuation = null, RescanProgress? Progress = null);

/// <summary>
/// The rescan's custom status while it runs and its output when done: what it compared with, and counts.
/// </summary>
/// <param name="Examined">References read.</param>
/// <param name="Selected">References whose verdict rests on something that changed.</param>
/// <param name="Decided">Selected references decided again.</param>
/// <param name="Changed">Decisions that changed (each audited once).</param>
/// <param name="Rescanned">Contents scanned again because their facts were of an older version.</param>
/// <param name="Failed">References or contents that could not be re-evaluated (the next rescan selects them again).</param>
/// <param name="ByReason">Selected references per <see cref="RescanReason"/>.</param>
/// <param name="ByDecision">Changed decisions per new decision.</param>
public sealed record RescanProgress(
    string Trigger, DateTimeOffset StartedAt, RescanBaseline Baseline, int Batches, long Examined, long Selected, long Decided, long Changed, long Rescanned,
    long Failed, IReadOnlyDictionary<string, long> ByReason, IReadOnlyDictionary<string, long> ByDecision)
{
    /// <summary>When the last batch ended; null while it runs.</summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The last failure's message, if any.</summary>
    public string? LastError { get; init; }

    /// <summary>These counts with one batch's added.</summary>
    public RescanProgress Add(RescanBatch batch, IReadOnlyList<RescanChunkResult> chunks, int rescanned, int scanFailures, string? error) => this with
    {
        Batches = Batches + 1,
        Examined = Examined + batch.Examined,
        Selected = Selected + batch.Items.Count,
        Decided = Decided + chunks.Sum(c => c.Decided),
        Changed = Changed + chunks.Sum(c => c.Changed.Count),
        Rescanned = Rescanned + rescanned,
        Failed = Failed + chunks.Sum(c => c.Failed) + scanFailures,
        ByReason = Sum(ByReason, batch.Items.Select(i => i.Reason.ToString())),
        ByDecision = Sum(ByDecision, chunks.SelectMany(c => c.Changed)),
        LastError = error ?? chunks.Select(c => c.Error).LastOrDefault(e => e is not null) ?? LastError,
    };

    private static Dictionary<string, long> Sum(IReadOnlyDictionary<string, long> counts, IEnumerable<string> more)
    {
        var sum = new Dictionary<string, long>(counts, StringComparer.Ordinal);
        foreach (var key in more)
        {
            sum[key] = sum.GetValueOrDefault(key) + 1;
        }
        return sum;
    }
}

/// <summary>Input of <see cref="ListRescanBatchActivity"/>: where the page starts, its size, and what to compare with.</summary>
public sealed record RescanPage(string? Continuation, int Size, int Parallelism, RescanBaseline Baseline);

/// <summary>One reference to evaluate again, and why.</summary>
public sealed record RescanItem(ReferenceKey Key, string Sha256, RescanReason Reason);

/// <summary>Output of <see cref="ListRescanBatchActivity"/>: the selected references of one page, how many were read, and where the next page starts.</summary>
public sealed record RescanBatch(IReadOnlyList<RescanItem> Items, int Examined, string? Next);

/// <summary>Input of <see cref="RescanChunkActivity"/>: selected references, every reference to a content in the same chunk.</summary>
public sealed record RescanChunk(IReadOnlyList<RescanItem> Items, RescanBaseline Baseline);

/// <summary>
/// Output of <see cref="RescanChunkActivity"/>: how many were decided again, the new decision of each that changed,
/// the scans it claimed (contents with facts of an older version), and failures.
/// </summary>
public sealed record RescanChunkResult(int Decided, IReadOnlyList<string> Changed, IReadOnlyList<ScanRequest> Scans, int Failed, string? Error);
