using System.Text;

namespace Gatehouse.Scanning.Pickle;

/// <summary>How a single <see cref="PickleSession.LoadOne"/> ended.</summary>
public enum PickleLoadStatus
{
    /// <summary>The pickle ran to its STOP; the stream is right after it.</summary>
    Loaded,
    /// <summary>The pickle is broken (truncated, malformed): an Invalid finding was reported, with everything seen before.</summary>
    Failed,
    /// <summary>A scan limit was hit: a Suspicious finding was reported and scanning should stop.</summary>
    Stopped,
}

/// <summary>The outcome of loading one pickle: its symbolic value (None unless <see cref="PickleLoadStatus.Loaded"/>).</summary>
public readonly record struct PickleLoadResult(PickleLoadStatus Status, PickleValue Value, long Start, long End);

/// <summary>
/// Called after BUILD applied a state to an object (the way joblib's <c>NumpyUnpickler.load_build</c> hooks in). Return
/// a value to replace the object on the stack, or null to leave it. The hook may read raw bytes or nested pickles from
/// <paramref name="session"/>.
/// </summary>
public delegate PickleValue? PickleBuildHook(PickleObject built, PickleSession session);

/// <summary>
/// Scans an archive found inside a pickle argument — e.g. <c>torch.storage._load_from_bytes(b"PK…")</c> — and returns
/// its findings. <paramref name="depth"/> is the nesting depth of the archive, for <see cref="ScanLimits.MaxNestingDepth"/>.
/// </summary>
public delegate IReadOnlyList<ModelFinding> NestedArchiveScanner(ReadOnlyMemory<byte> archive, string path, int depth);

/// <summary>Options of a <see cref="PickleScanner"/> beyond its limits.</summary>
public sealed record PickleScanOptions
{
    /// <summary>
    /// The extension point for nested archives (a torch zip inside bytes). When null, such archives are not scanned and
    /// a call that loads one is Suspicious.
    /// </summary>
    public NestedArchiveScanner? NestedArchiveScanner { get; init; }
}

/// <summary>
/// One forward-only pass over a stream of pickles, shared by the container readers: load pickles one at a time, read
/// raw bytes between them (joblib arrays, torch storages), and collect findings. Never seeks while reading; on dispose,
/// a seekable stream is positioned right after the last byte consumed.
/// </summary>
public sealed class PickleSession : IDisposable
{
    private readonly PickleScanner _scanner;
    private readonly Stream _stream;
    private readonly PickleInput _input;
    private readonly FindingSink _sink;
    private readonly ScanBudget _budget;
    private readonly bool _dropParseErrors;
    private readonly ScanLevel _reportFrom;
    private readonly Dictionary<(string Module, string Name, int Mode), ResolvedGlobal> _resolved = [];
    private int _loads;
    private int _running;
    private bool _trailing;

    internal PickleSession(PickleScanner scanner, Stream stream, string? path, FindingSink sink, ScanBudget budget, int depth, bool dropParseErrors,
        ScanLevel reportFrom = ScanLevel.Safe)
    {
        _reportFrom = reportFrom;
        _scanner = scanner;
        _stream = stream;
        Path = path;
        _sink = sink;
        _budget = budget;
        Depth = depth;
        _dropParseErrors = dropParseErrors;
        long start = 0;
        try
        {
            start = stream.CanSeek ? stream.Position : 0;
        }
        catch (NotSupportedException)
        {
        }
        _input = new PickleInput(stream, start);
    }

    /// <summary>The member path used in findings.</summary>
    public string? Path { get; }

    /// <summary>How many archives or pickles enclose this stream.</summary>
    public int Depth { get; }

    /// <summary>Offset of the next byte (from the stream's position when the session opened, if seekable).</summary>
    public long Position => _input.Position;

    /// <summary>Everything found so far.</summary>
    public IReadOnlyList<ModelFinding> Findings => _sink.ToList();

    /// <summary>True when no byte is left.</summary>
    public bool IsAtEnd => _input.Peek() < 0;

    /// <summary>True once a scan limit stopped the scan.</summary>
    public bool IsStopped => _budget.ExhaustedRule is not null;

    /// <summary>Who reads this stream, named in findings about where it stops ("torch.load", "joblib.load"); "the unpickler" when unknown.</summary>
    public string Loader { get; init; } = "the unpickler";

    /// <summary>
    /// How many times the loader reached outside the pickle so far: imports (GLOBAL, STACK_GLOBAL, INST) and persistent
    /// loads. Calls need an imported callable, so zero means nothing ran. EXT lookups are not counted: the extension
    /// registry of a stock interpreter is empty, so they fail without importing anything.
    /// </summary>
    public int Reached { get; internal set; }

    /// <summary>True when the stream broke off (truncated, or a byte CPython's unpickler rejects) before the loader reached anything: inert to it.</summary>
    public bool IsInert { get; private set; }

    /// <summary>Why the underlying stream stopped giving bytes, when it failed rather than ended (a decoder error).</summary>
    internal Exception? StreamError => _input.StreamError;

    /// <summary>The failure that ended the last pickle run, if it failed.</summary>
    internal PickleFailure? LastFailure { get; set; }

    /// <summary>Loads exactly one pickle and stops right after its STOP.</summary>
    public PickleLoadResult LoadOne(PickleBuildHook? onBuild = null)
    {
        _loads++;
        if (_budget.ExhaustedRule is not null)
        {
            return new PickleLoadResult(PickleLoadStatus.Stopped, PickleValue.None, Position, Position);
        }
        // Every load is a fresh unpickler with no frame; one loaded from inside another (joblib's object arrays, from a
        // build hook) gives the outer frame back when it ends.
        var outerFrame = _input.SuspendFrame();
        _running++;
        LastFailure = null;
        var mark = _sink.Mark;
        try
        {
            var result = new PickleMachine(this, _input, _budget, onBuild).Run();
            if (result.Status == PickleLoadStatus.Failed && !_trailing && _running == 1)
            {
                NoteWhereTheLoaderStops(mark);
            }
            if (result.Status == PickleLoadStatus.Loaded && _input.InFrame && _input.Position < _input.FrameEnd)
            {
                Report(PickleRules.FrameOverrun, ScanLevel.Suspicious,
                    $"STOP leaves {_input.FrameEnd - _input.Position:N0} bytes of its FRAME unread: the pure-Python unpickler skips them, the C unpickler reads them next.",
                    result.End - 1, callSite: "STOP");
            }
            return result;
        }
        finally
        {
            _running--;
            if (_running > 0 && outerFrame >= 0)
            {
                _input.ResumeFrame(outerFrame);
            }
            else if (_running == 0)
            {
                _input.SuspendFrame();
            }
        }
    }

    /// <summary>
    /// The loader raises where a pickle breaks off and runs nothing after it. When the break is certain (the stream ends,
    /// or a byte CPython's unpickler rejects: not a text argument this scanner may parse more strictly) and nothing was
    /// imported, looked up or loaded before it, the content is inert to the loader: the parse error becomes an inert note.
    /// A break after a global was reached stays Invalid: the globals are judged, and a loader that reads further (joblib
    /// reads raw array bytes where a plain unpickler breaks) might run more.
    /// </summary>
    private void NoteWhereTheLoaderStops(int mark)
    {
        if (_dropParseErrors || Reached > 0 || LastFailure is not { Ambiguous: false } failure
            || failure.Rule is not (PickleRules.Truncated or PickleRules.Malformed))
        {
            return;
        }
        _sink.RemoveRuleSince(mark, failure.Rule);
        // EXT lookups fail in a stock interpreter before the break is even reached: nothing was imported either way.
        _sink.RemoveRuleSince(mark, PickleRules.ExtensionGlobal);
        _sink.RemoveRuleSince(mark, PickleRules.ExtensionCall);
        var at = failure.Offset ?? Position;
        IsInert = true;
        Report(InertContent.Rule, ScanLevel.Safe,
            $"inert: {Loader} would fail at offset {at} before importing or calling anything ({failure.Message}).", at);
    }

    /// <summary>
    /// Scans every pickle from here to the end, as <see cref="PickleScanner.Scan(Stream, string?)"/> does: concatenated
    /// pickles are all scanned; bytes after the last pickle are reported as inert trailing data, or as Suspicious when
    /// they parse as opcodes that import or call.
    /// </summary>
    public void ScanToEnd(PickleBuildHook? onBuild = null)
    {
        var first = _loads == 0;
        while (_budget.ExhaustedRule is null)
        {
            if (IsAtEnd)
            {
                if (first && _input.StreamError is { } error)
                {
                    // Not empty: the bytes could not be read (a decoder failed). Fail closed.
                    Report(PickleRules.ReadError, ScanLevel.Invalid, $"The stream could not be read: {error.Message}", Position);
                }
                else if (first && !_dropParseErrors)
                {
                    // pickle.load raises EOFError on empty input before anything runs.
                    IsInert = Reached == 0;
                    Report(InertContent.Rule, ScanLevel.Safe, $"inert: {Loader} would fail before importing or calling anything: there is no pickle data (EOFError).", Position);
                }
                return;
            }
            var start = Position;
            if (first)
            {
                first = false;
                if (LoadOne(onBuild).Status != PickleLoadStatus.Loaded)
                {
                    return;
                }
                continue;
            }
            var mark = _sink.Mark;
            var startsLikePickle = _input.Peek() == PickleOpcodes.PROTO;
            _trailing = true;
            PickleLoadResult result;
            try
            {
                result = LoadOne(onBuild);
            }
            finally
            {
                _trailing = false;
            }
            if (result.Status == PickleLoadStatus.Loaded)
            {
                continue;
            }
            if (result.Status == PickleLoadStatus.Stopped)
            {
                return;
            }
            if (_sink.HasBehaviourSince(mark) || startsLikePickle)
            {
                // What it imports or calls counts; that it is not a whole pickle is the trailing-opcodes finding itself.
                _sink.RemoveParseErrorsSince(mark);
                Report(PickleRules.TrailingOpcodes, ScanLevel.Suspicious,
                    "Bytes after the last complete pickle parse as pickle opcodes; a loader reading further would run them.", start);
                return;
            }
            _sink.Rollback(mark);
            var length = result.End - start + CountRemaining();
            Report(PickleRules.TrailingData, ScanLevel.Safe,
                $"{length:N0} bytes after the last pickle are not a pickle; the loader never reads them.", start);
            return;
        }
    }

    /// <summary>Reports everything from here to the end as inert trailing data (e.g. legacy torch storage bytes).</summary>
    public void ReportTrailingData(string what)
    {
        var start = Position;
        var length = CountRemaining();
        if (length > 0)
        {
            Report(PickleRules.TrailingData, ScanLevel.Safe, $"{length:N0} bytes of {what} follow the pickles; the loader reads them as raw data.", start);
        }
    }

    /// <summary>Consumes raw bytes outside any pickle (no frame rules); returns how many there were.</summary>
    public long SkipRaw(long count) => _input.SkipRaw(count);

    /// <summary>Reads up to <paramref name="count"/> raw bytes outside any pickle (fewer at the end).</summary>
    public byte[] ReadRaw(int count) => _input.ReadRaw(count);

    /// <summary>Reads one raw byte outside any pickle; -1 at the end.</summary>
    public int ReadRawByte() => _input.ReadRawByte();

    /// <summary>True while the last pickle's FRAME has bytes left (raw reads would come from after it).</summary>
    public bool InUnfinishedFrame => _input.InFrame && _input.Position < _input.FrameEnd;

    /// <summary>Adds a finding for this stream.</summary>
    public void Report(string rule, ScanLevel level, string message, long? offset = null, string? global = null, string? callSite = null)
    {
        if ((_dropParseErrors && PickleRules.IsParseError(rule)) || level < _reportFrom)
        {
            return; // bytes that merely look like a pickle: only what a loader would import or call matters
        }
        _sink.Add(rule, level, message, Path, offset, global, callSite);
    }

    public void Dispose()
    {
        try
        {
            _input.ReturnReadAhead();
        }
        catch (IOException)
        {
        }
        catch (NotSupportedException)
        {
        }
        _input.Dispose();
    }

    private long CountRemaining()
    {
        if (_stream.CanSeek)
        {
            try
            {
                return Math.Max(0, _stream.Length - Position);
            }
            catch (NotSupportedException)
            {
            }
        }
        return _input.SkipRaw(long.MaxValue);
    }

    // ------------------------------------------------------------------ find_class

    /// <summary>
    /// CPython's <c>find_class</c>: <c>_compat_pickle</c> mapping below protocol 3, a dotted attribute walk at protocol 4
    /// and above, a single getattr otherwise. Judges and reports the import.
    /// </summary>
    internal PickleGlobal FindClass(string rawModule, string rawName, int proto, string site, long offset)
    {
        Reached++;
        var mode = proto < 3 ? 0 : proto == 3 ? 1 : 2;
        if (!_resolved.TryGetValue((rawModule, rawName, mode), out var resolved))
        {
            resolved = Resolve(rawModule, rawName, mode);
            if (_resolved.Count < 100_000)
            {
                _resolved[(rawModule, rawName, mode)] = resolved;
            }
        }
        var global = new PickleGlobal(resolved.Module, resolved.Name, resolved.Judgement, offset);
        if (resolved.Judgement.Level > ScanLevel.Safe)
        {
            Report(resolved.Judgement.Rule, resolved.Judgement.Level,
                $"{site} imports {global.Name}{resolved.Note}: {resolved.Judgement.Reason}.", offset, global.Name, site);
        }
        if (resolved.Unresolvable is { } why)
        {
            Report(PickleRules.UnresolvableGlobal, ScanLevel.Invalid, $"{site} names {global.Name}, which the loader cannot resolve: {why}.", offset, global.Name, site);
        }
        return global;
    }

    private static ResolvedGlobal Resolve(string rawModule, string rawName, int mode)
    {
        var (module, name) = mode == 0 ? CompatPickleMapping.Map(rawModule, rawName) : (rawModule, rawName);
        var note = (module, name) != (rawModule, rawName) ? $" (written as {rawModule}.{rawName}, mapped by _compat_pickle below protocol 3)" : "";
        var judgement = GlobalPolicy.Judge(module, name);
        if (mode > 0 && CompatPickleMapping.Map(rawModule, rawName) is var mapped && mapped != (rawModule, rawName))
        {
            // Loaders that always apply the Python 2 mapping (torch's weights_only reader) see the mapped name.
            var alternative = GlobalPolicy.Judge(mapped.Module, mapped.Name);
            if (alternative.IsDangerous && !judgement.IsDangerous)
            {
                judgement = alternative;
                note = $" (which the Python 2 name mapping turns into {mapped.Module}.{mapped.Name})";
            }
        }
        string? unresolvable = null;
        if (module.Length == 0)
        {
            unresolvable = "an empty module name";
        }
        else if (name.Contains('.'))
        {
            if (mode < 2)
            {
                unresolvable = "a dotted name is looked up with a single getattr below protocol 4 (AttributeError after the module was imported)";
                // Only the module import happens; the dotted attribute is never reached, so it is not judged.
                judgement = GlobalPolicy.JudgeModuleImport(module);
            }
            else if (name.Split('.').Contains("<locals>"))
            {
                unresolvable = "a <locals> component cannot be reached";
            }
        }
        return new ResolvedGlobal(module, name, judgement, note, unresolvable);
    }

    private sealed record ResolvedGlobal(string Module, string Name, GlobalJudgement Judgement, string Note, string? Unresolvable);

    // ------------------------------------------------------------------ nested content

    /// <summary>Checks a str argument for a pickle or archive (raw, base64 or hex) and scans what it finds.</summary>
    internal void InspectText(string text, long offset, bool forced)
    {
        var narrow = true;
        foreach (var c in text)
        {
            if (c > 0xFF)
            {
                narrow = false;
                break;
            }
        }
        if (narrow && (forced || text[0] == '\u0080' || text.StartsWith("PK\u0003\u0004", StringComparison.Ordinal) || PickleOpcodes.IsOpcode((byte)text[0])))
        {
            var bytes = Encoding.Latin1.GetBytes(text);
            if (InspectNested(bytes, offset, forced) != NestedContent.Nothing)
            {
                return;
            }
        }
        if (NestedContentDetector.TryDecodeText(text) is { } decoded && (NestedContentDetector.LooksLikePickle(decoded) || NestedContentDetector.IsZip(decoded)))
        {
            InspectNested(decoded, offset, forced: false);
        }
    }

    /// <summary>Checks bytes for a pickle or archive (raw, base64 or hex) and scans what it finds.</summary>
    internal NestedContent InspectNested(byte[] content, long offset, bool forced)
    {
        if (NestedContentDetector.IsZip(content))
        {
            if (Depth + 1 > _budget.Limits.MaxNestingDepth)
            {
                Report(PickleRules.LimitNesting, ScanLevel.Suspicious, $"An archive nested deeper than {_budget.Limits.MaxNestingDepth} levels was not scanned.", offset);
                return NestedContent.UnscannedArchive;
            }
            if (_scanner.Options.NestedArchiveScanner is { } scanArchive)
            {
                foreach (var finding in scanArchive(content, NestedPath(offset), Depth + 1))
                {
                    _sink.Add(finding);
                }
                return NestedContent.Archive;
            }
            return NestedContent.UnscannedArchive;
        }
        if (forced || NestedContentDetector.LooksLikePickle(content))
        {
            if (Depth + 1 > _budget.Limits.MaxNestingDepth)
            {
                Report(PickleRules.LimitNesting, ScanLevel.Suspicious, $"A pickle nested deeper than {_budget.Limits.MaxNestingDepth} levels was not scanned.", offset);
                return NestedContent.Nothing;
            }
            using var nested = new MemoryStream(content, writable: false);
            using var session = new PickleSession(_scanner, nested, NestedPath(offset), _sink, _budget, Depth + 1, dropParseErrors: true);
            session.ScanToEnd();
            return NestedContent.Pickle;
        }
        if (content.Length >= 16 && NestedContentDetector.TryDecodeText(content) is { } decoded &&
            (NestedContentDetector.LooksLikePickle(decoded) || NestedContentDetector.IsZip(decoded)))
        {
            return InspectNested(decoded, offset, forced: false);
        }
        return NestedContent.Nothing;
    }

    /// <summary>
    /// Raw bytes a container reader skips (a joblib array) that another loader (plain pickle.load) would read as opcodes:
    /// scanned as a pickle continuation, reporting only Dangerous imports and calls so that ordinary array data never
    /// raises a finding. Returns true when something Dangerous was found.
    /// </summary>
    internal bool InspectRawRegion(byte[] content, long offset)
    {
        if (content.Length < NestedContentDetector.MinimumLength || Depth + 1 > _budget.Limits.MaxNestingDepth)
        {
            return false;
        }
        var mark = _sink.Mark;
        using var region = new MemoryStream(content, writable: false);
        using var session = new PickleSession(_scanner, region, $"{Path}!<raw@{offset}>", _sink, _budget, Depth + 1, dropParseErrors: true, ScanLevel.Dangerous);
        session.ScanToEnd();
        return _sink.HasBehaviourSince(mark);
    }

    private string NestedPath(long offset) => $"{Path}!<argument@{offset}>";
}
