namespace Gatehouse.Scanning.Pickle;

/// <summary>The rule ids the pickle machine reports, one line each on why the rule exists.</summary>
public static class PickleRules
{
    /// <summary>A deny-listed global is imported (GLOBAL imports its module, so importing alone is enough).</summary>
    public const string DangerousGlobal = GlobalPolicy.DangerousRule;
    /// <summary>A global outside the allow-list: not provably inert.</summary>
    public const string UnknownGlobal = GlobalPolicy.UnknownRule;
    /// <summary>A dunder attribute (__builtins__, __globals__ …) reaches interpreter internals.</summary>
    public const string DunderGlobal = GlobalPolicy.DunderRule;
    /// <summary>A deny-listed callable is called or instantiated.</summary>
    public const string DangerousCall = "pickle.dangerous-call";
    /// <summary>A callable outside the allow-list is called or instantiated.</summary>
    public const string UnknownCall = "pickle.unknown-call";
    /// <summary>An EXT1/EXT2/EXT4 reference: resolved only through the loading process's copyreg registry.</summary>
    public const string ExtensionGlobal = "pickle.ext-global";
    /// <summary>An EXT reference is called: an unknown callable runs.</summary>
    public const string ExtensionCall = "pickle.ext-call";
    /// <summary>The result of a call is itself called (a gadget chain such as getattr(x, 'system')(cmd)).</summary>
    public const string CallOnObject = "pickle.call-on-object";
    /// <summary>Something that cannot be called is called: the loader fails here.</summary>
    public const string NotCallable = "pickle.not-callable";
    /// <summary>An allow-listed class meant for NEWOBJ is constructed through __init__, whose side effects checkpoints never need.</summary>
    public const string UnexpectedInit = "pickle.unexpected-init";
    /// <summary>An allow-listed constant (a dtype) is called.</summary>
    public const string UnexpectedCall = "pickle.unexpected-call";
    /// <summary>BUILD sets attributes on a module, class or function: monkey-patching at load time.</summary>
    public const string BuildOnGlobal = "pickle.build-on-global";
    /// <summary>BUILD puts a dunder attribute (__setstate__, __class__ …) on an object, redirecting the next BUILD or call.</summary>
    public const string DunderState = "pickle.dunder-state";
    /// <summary>SETITEM/APPEND/ADDITEMS call a method of a module, class or function.</summary>
    public const string MutatesGlobal = "pickle.mutates-global";
    /// <summary>A nested load (torch.storage._load_from_bytes) of content that was not or could not be scanned.</summary>
    public const string NestedLoad = "pickle.nested-load";
    /// <summary>A nested archive that no archive scanner was configured to read.</summary>
    public const string NestedArchiveUnscanned = "pickle.nested-archive-unscanned";
    /// <summary>PROTO after the first opcode, or twice: it switches name resolution mid-stream.</summary>
    public const string MisplacedProto = "pickle.misplaced-proto";
    /// <summary>An opcode crosses the end of its FRAME: loaders disagree on what follows.</summary>
    public const string FrameOverrun = "pickle.frame-overrun";
    /// <summary>The stream ends, or a length points, beyond the end of the data.</summary>
    public const string Truncated = "pickle.truncated";
    /// <summary>The bytes are not a pickle the loader can read (bad opcode, stack underflow, bad argument).</summary>
    public const string Malformed = "pickle.malformed";
    /// <summary>A global the loader cannot resolve at the protocol in force (dotted name below protocol 4, &lt;locals&gt;).</summary>
    public const string UnresolvableGlobal = "pickle.unresolvable-global";
    /// <summary>Out-of-band buffers (protocol 5) that neither torch.load nor joblib supply.</summary>
    public const string OutOfBandBuffer = "pickle.out-of-band-buffer";
    /// <summary>Bytes after the last pickle that are not a pickle (storage bytes, signatures): inert, reported for the record.</summary>
    public const string TrailingData = "pickle.trailing-data";
    /// <summary>Bytes after the last pickle that parse as opcodes: another loader may run them.</summary>
    public const string TrailingOpcodes = "pickle.trailing-opcodes";
    public const string LimitOpcodes = "pickle.limit-opcodes";
    public const string LimitMemo = "pickle.limit-memo";
    /// <summary>Shared references that expand past any real model's size when copied or walked (memo fan-out).</summary>
    public const string LimitExpansion = "pickle.limit-expansion";
    public const string LimitStack = "pickle.limit-stack";
    public const string LimitMarks = "pickle.limit-marks";
    public const string LimitDuration = "pickle.limit-duration";
    public const string LimitNesting = "pickle.limit-nesting";
    public const string LimitFindings = "pickle.limit-findings";
    /// <summary>The file's pickles need more memory than <see cref="ScanLimits.MaxMemoryBytes"/>: stopped before the host runs out.</summary>
    public const string BudgetExceeded = "scan.budget-exceeded";
    /// <summary>The scanner itself failed on this content: fail closed.</summary>
    public const string ScannerError = "pickle.scanner-error";
    /// <summary>The underlying stream failed (corrupt compression, I/O error).</summary>
    public const string ReadError = "pickle.read-error";

    internal static bool IsParseError(string rule) => rule is Truncated or Malformed or FrameOverrun or UnresolvableGlobal
        or OutOfBandBuffer or NotCallable or TrailingData or TrailingOpcodes or ReadError or MisplacedProto;
}
