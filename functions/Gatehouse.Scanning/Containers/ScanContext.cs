using Gatehouse.Scanning.Pickle;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// What one file's scan shares across every reader it passes through: the limits, the findings so far, the
/// decompression budget, the deadline and the way back to the router for nested content.
/// </summary>
internal sealed class ScanContext
{
    /// <summary>Bytes of a member or file read up front to tell its format.</summary>
    public const int HeadSize = 64 * 1024;

    private readonly List<ModelFinding> _findings = [];
    private readonly Func<ScanContext, Stream, string?, string?, int, string> _route;
    private readonly DecompressionBudget _budget;
    private readonly HashSet<(string Rule, string? Path)> _recordedLimits = [];

    public ScanContext(ScanLimits limits, PickleScanner pickles, Func<ScanContext, Stream, string?, string?, int, string> route, CancellationToken cancellation)
        : this(limits, pickles, route, cancellation, new DecompressionBudget())
    {
        // One memory budget for the whole file: every pickle the readers hand to this scanner draws on it.
        pickles.FileMemory = new MemoryBudget(limits.MaxMemoryBytes);
    }

    private ScanContext(ScanLimits limits, PickleScanner pickles, Func<ScanContext, Stream, string?, string?, int, string> route, CancellationToken cancellation, DecompressionBudget budget)
    {
        Limits = limits;
        Pickles = pickles;
        _route = route;
        Cancellation = cancellation;
        _budget = budget;
    }

    /// <summary>A context with its own findings that shares this file's budget and deadline (for content the pickle engine found inside a pickle).</summary>
    public ScanContext Nested() => new(Limits, Pickles, _route, Cancellation, _budget);

    public ScanLimits Limits { get; }

    public PickleScanner Pickles { get; }

    /// <summary>Fires on the caller's cancellation and on <see cref="ScanLimits.MaxDuration"/>.</summary>
    public CancellationToken Cancellation { get; }

    public IReadOnlyList<ModelFinding> Findings => _findings;

    public void Add(ModelFinding finding) => _findings.Add(finding);

    public void Add(string rule, ScanLevel level, string message, string? path = null, long? offset = null) =>
        _findings.Add(new ModelFinding(rule, level, message, path, offset));

    public void AddRange(IEnumerable<ModelFinding> findings) => _findings.AddRange(findings);

    public void ThrowIfCancelled() => Cancellation.ThrowIfCancellationRequested();

    /// <summary>
    /// Tells the format of <paramref name="content"/> and scans it with the matching reader; returns the format.
    /// </summary>
    /// <param name="content">Forward-only is fine; readers that need seeking copy it to a seekable store.</param>
    /// <param name="path">Where the content sits (a member path), null for the file itself.</param>
    /// <param name="name">The name the content goes by (member or file name), used only for the checkpoint rule.</param>
    /// <param name="depth">How many containers enclose the content.</param>
    public string Route(Stream content, string? path, string? name, int depth) => _route(this, content, path, name, depth);

    /// <summary>
    /// Runs one piece of the scan (a member, a nested container) so that its failure is a finding about that piece and
    /// the rest of the file is still scanned: a limit is Suspicious, content that breaks its format is Invalid, a
    /// scanner fault is Invalid. Only cancellation and the deadline escape.
    /// </summary>
    /// <param name="onFailure">Told about the failure after it is recorded.</param>
    /// <param name="corruptRule">The rule for content that fails to decode (zip uses "zip.encrypted" for flagged members).</param>
    public void Guarded(string? path, Action action, Action<Exception>? onFailure = null, string corruptRule = ContainerRules.Corrupt)
    {
        try
        {
            action();
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (ScanLimitException e)
        {
            if (!e.Recorded)
            {
                Add(e.Rule, ScanLevel.Suspicious, e.Message, e.ContentPath ?? path);
            }
            onFailure?.Invoke(e);
        }
        catch (ContainerFormatException e)
        {
            Add(e.Rule, ScanLevel.Invalid, e.Message, path);
            onFailure?.Invoke(e);
        }
        catch (Exception e) when (IsBrokenContent(e))
        {
            Add(corruptRule, ScanLevel.Invalid, $"The content cannot be decoded the way its loader decodes it ({e.GetType().Name}: {e.Message}).", path);
            onFailure?.Invoke(e);
        }
        catch (Exception e)
        {
            Add(ContainerRules.ScannerError, ScanLevel.Invalid, $"The scanner failed on this content ({e.GetType().Name}: {e.Message}); it is not known to be safe.", path);
            onFailure?.Invoke(e);
        }
    }

    /// <summary>Exceptions that decoders and parsers throw for bad input, as opposed to faults of the scanner.</summary>
    public static bool IsBrokenContent(Exception e) =>
        e is InvalidDataException or EndOfStreamException or FormatException or OverflowException or System.Text.Json.JsonException
            or System.Text.DecoderFallbackException or SharpCompress.Common.SharpCompressException or ZstdSharp.ZstdException
        || (e is IOException && e is not FileNotFoundException and not DirectoryNotFoundException);

    /// <summary>Counts decompressed bytes against <see cref="ScanLimits.MaxUncompressedBytes"/> for the whole file.</summary>
    public void ChargeDecompressed(long bytes, string? path)
    {
        _budget.Bytes += bytes;
        if (_budget.Bytes > Limits.MaxUncompressedBytes)
        {
            throw LimitExceeded(ContainerRules.SizeLimit,
                $"Decompressed content exceeds {Limits.MaxUncompressedBytes:N0} bytes for this file; the rest was not scanned.", path);
        }
    }

    /// <summary>Counts bytes spooled to temp files against <see cref="ScanLimits.MaxTempBytes"/> for the whole file.</summary>
    public void ChargeTemp(long bytes, string? path)
    {
        _budget.TempBytes += bytes;
        if (_budget.TempBytes > Limits.MaxTempBytes)
        {
            throw LimitExceeded(ContainerRules.TempLimit,
                $"The scan ran out of its temp disk budget ({Limits.MaxTempBytes:N0} bytes) spooling content it must read out of order; the rest was not scanned.", path);
        }
    }

    /// <summary>
    /// Records a limit hit while reading a stream and returns the exception to throw. The finding is recorded first
    /// because the exception passes through readers (the pickle engine) that may turn it into their own finding.
    /// </summary>
    public ScanLimitException LimitExceeded(string rule, string message, string? path)
    {
        if (_recordedLimits.Add((rule, path)))
        {
            Add(rule, ScanLevel.Suspicious, message, path);
        }
        return new ScanLimitException(rule, message, path) { Recorded = true };
    }

    /// <summary>The path of a member inside the content at <paramref name="parent"/>; "!" marks each container boundary.</summary>
    public static string Child(string? parent, string member) => parent is null ? member : $"{parent}!{member}";

    /// <summary>Fills <paramref name="buffer"/> (less only at the end of the stream); returns how much was read.</summary>
    public static int ReadAtMost(Stream stream, Span<byte> buffer)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = stream.Read(buffer[read..]);
            if (n == 0)
            {
                break;
            }
            read += n;
        }
        return read;
    }
}

/// <summary>Decompressed bytes so far for one file, shared by every context scanning part of it.</summary>
internal sealed class DecompressionBudget
{
    public long Bytes { get; set; }

    public long TempBytes { get; set; }
}

/// <summary>A limit was hit: reported as a Suspicious finding for the content at hand, never as a crash.</summary>
internal sealed class ScanLimitException(string rule, string message, string? path) : Exception(message)
{
    public string Rule { get; } = rule;

    public string? ContentPath { get; } = path;

    /// <summary>Already a finding (see <see cref="ScanContext.LimitExceeded"/>).</summary>
    public bool Recorded { get; init; }
}

/// <summary>The content cannot be read the way its loader reads it; reported as Invalid (fail closed).</summary>
internal sealed class ContainerFormatException(string rule, string message) : Exception(message)
{
    public string Rule { get; } = rule;
}

/// <summary>Rules that belong to no single format: routing, limits and containers in general.</summary>
internal static class ContainerRules
{
    /// <summary>
    /// Content named like a model that is none of the formats its loader reads, yet that loader may still parse it (bytes
    /// that pass as protobuf for a graph loader, a block Python's tarfile accepts): not provably inert. Content the loader
    /// rejects before importing anything is <see cref="InertContent.Rule"/> instead.
    /// </summary>
    public const string Unrecognised = "container.unrecognised";
    /// <summary>A container the loaders of model files never produce (7z and friends) that cannot even be opened.</summary>
    public const string NonStandard = "container.non-standard";
    /// <summary>The container breaks its own format, so a loader reads it differently or not at all; fail closed.</summary>
    public const string Corrupt = "container.corrupt";
    /// <summary>Encrypted content cannot be scanned, so it is never served as clean.</summary>
    public const string Encrypted = "container.encrypted";
    /// <summary>Containers nested beyond <see cref="ScanLimits.MaxNestingDepth"/> hide content from scanners.</summary>
    public const string NestingDepth = "container.nesting-depth";
    /// <summary>Decompression beyond <see cref="ScanLimits.MaxUncompressedBytes"/> exhausts disk or memory.</summary>
    public const string SizeLimit = "container.size-limit";
    /// <summary>A ratio beyond <see cref="ScanLimits.MaxCompressionRatio"/> is a decompression bomb.</summary>
    public const string CompressionRatio = "container.compression-ratio";
    /// <summary>A second format hidden in the same bytes (a zip appended to a pickle) is read by a different loader.</summary>
    public const string Polyglot = "container.polyglot";
    /// <summary>A member name that leaves the extraction directory writes anywhere when a tool extracts the archive.</summary>
    public const string PathTraversal = "archive.path-traversal";
    /// <summary>A link whose target leaves the archive lets a later write or read escape the extraction directory.</summary>
    public const string LinkEscape = "archive.link-escape";
    /// <summary>Links have no place in a model archive; what they point to depends on the machine.</summary>
    public const string Link = "archive.link";
    /// <summary>Devices and FIFOs have no place in a model archive.</summary>
    public const string SpecialMember = "archive.special-member";
    /// <summary>Two members with one name: loaders disagree on which one wins.</summary>
    public const string DuplicateName = "archive.duplicate-name";
    /// <summary>The scan ran past <see cref="ScanLimits.MaxDuration"/>; what was not reached was not checked.</summary>
    public const string TimeLimit = "scan.time-limit";
    /// <summary>Spooling passed <see cref="ScanLimits.MaxTempBytes"/>: the scan stopped before the host's disk ran out.</summary>
    public const string TempLimit = PickleRules.BudgetExceeded;
    /// <summary>The scanner itself failed on this content; fail closed.</summary>
    public const string ScannerError = "scan.error";
}
