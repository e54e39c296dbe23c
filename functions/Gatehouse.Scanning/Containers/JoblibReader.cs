using System.Numerics;
using Gatehouse.Scanning.Pickle;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// joblib files: a pickle whose <c>NumpyArrayWrapper</c> objects are followed by raw array bytes that joblib reads
/// mid-stream. joblib's compressors (zlib, gzip, bz2, lzma, xz, lz4, the old "ZF" files) are undone by
/// <see cref="CompressedStream"/> before the content reaches this reader.
/// </summary>
public static class JoblibReader
{
    /// <summary>A NumpyArrayWrapper whose state joblib cannot read an array from (missing or odd shape/dtype).</summary>
    public const string BadWrapperRule = "joblib.bad-wrapper";
    /// <summary>The raw array region runs past the end of the data.</summary>
    public const string TruncatedArrayRule = "joblib.truncated-array";
    /// <summary>The wrapper's BUILD sits inside a FRAME with bytes left: joblib would read the array from after the frame.</summary>
    public const string ArrayInFrameRule = "joblib.array-in-frame";

    /// <summary>The raw array bytes hold a payload that a plain pickle.load of the same file would run.</summary>
    public const string RawRegionOpcodesRule = "joblib.raw-region-opcodes";

    /// <summary>How much of each raw array region is also read as plain pickle.load would read it.</summary>
    private const int RawRegionInspected = 64 * 1024;

    /// <summary>Scans an uncompressed joblib/pickle stream, skipping each wrapper's raw array region as joblib does.</summary>
    public static IReadOnlyList<ModelFinding> Scan(Stream stream, string? path, PickleScanner scanner)
    {
        using var session = scanner.Open(stream, path, loader: "joblib.load");
        session.ScanToEnd(ReadArrayAfterBuild);
        return session.Findings;
    }

    // ------------------------------------------------------------------ NumpyUnpickler.load_build

    /// <summary>
    /// joblib's <c>NumpyUnpickler.load_build</c>: after BUILD on a <c>NumpyArrayWrapper</c>, <c>read_array</c> consumes
    /// the array from the stream — a nested pickle for object dtypes, else an optional padding byte, that many padding
    /// bytes, and dtype.itemsize × prod(shape) raw bytes.
    /// </summary>
    private static PickleValue? ReadArrayAfterBuild(PickleObject wrapper, PickleSession session)
    {
        if (wrapper.CalleeGlobal is not { } cls || !cls.Is("joblib.numpy_pickle", "NumpyArrayWrapper"))
        {
            return null;
        }
        var attributes = WrapperAttributes(wrapper);
        if (!attributes.TryGetValue("shape", out var shapeValue) || !attributes.TryGetValue("dtype", out var dtypeValue))
        {
            session.Report(BadWrapperRule, ScanLevel.Invalid, "A NumpyArrayWrapper without shape or dtype: joblib fails here.", wrapper.Offset, cls.Name, "BUILD");
            return null;
        }
        var shape = ShapeCount(shapeValue);
        var dtype = NumpyDtype.From(dtypeValue);
        if (shape is null || dtype is null)
        {
            session.Report(BadWrapperRule, ScanLevel.Invalid,
                $"A NumpyArrayWrapper whose {(shape is null ? "shape" : "dtype")} joblib cannot read an array with ({(shape is null ? shapeValue : dtypeValue)}).",
                wrapper.Offset, cls.Name, "BUILD");
            return null;
        }
        if (session.InUnfinishedFrame)
        {
            session.Report(ArrayInFrameRule, ScanLevel.Invalid,
                "The wrapper is built inside a FRAME that has bytes left; joblib would read the array from after the frame, not here.",
                session.Position, cls.Name, "BUILD");
        }
        if (dtype.HasObject)
        {
            // Object arrays are a nested pickle.load on the same file.
            var nested = session.LoadOne();
            return nested.Status == PickleLoadStatus.Loaded ? PickleValue.Opaque("object array") : null;
        }
        var aligned = attributes.TryGetValue("numpy_array_alignment_bytes", out var alignment) && alignment.Kind != PickleValueKind.None;
        if (aligned)
        {
            var padding = session.ReadRawByte();
            if (padding < 0 || session.SkipRaw(padding) < padding)
            {
                session.Report(TruncatedArrayRule, ScanLevel.Invalid, "The array's padding runs past the end of the data.", session.Position, cls.Name, "BUILD");
                return null;
            }
        }
        var bytes = shape.Value * dtype.ItemSize;
        if (bytes > long.MaxValue || bytes < 0)
        {
            session.Report(BadWrapperRule, ScanLevel.Invalid, $"A NumpyArrayWrapper claims {bytes} bytes of array data.", wrapper.Offset, cls.Name, "BUILD");
            return null;
        }
        var start = session.Position;
        // pickle.load of the same file reads on as opcodes right after BUILD. With joblib ≥ 1.2 the padding-length byte
        // comes first and is never an opcode, so only unaligned (older) layouts can hide a payload there.
        var head = session.ReadRaw(aligned ? 0 : (int)BigInteger.Min(bytes, RawRegionInspected));
        if (!aligned && session.InspectRawRegion(head, start))
        {
            session.Report(RawRegionOpcodesRule, ScanLevel.Dangerous,
                "The raw array bytes parse as a pickle payload: joblib.load skips them, but pickle.load of the same file runs them.",
                start, cls.Name, "BUILD");
        }
        var skipped = head.Length + session.SkipRaw((long)bytes - head.Length);
        if (skipped < (long)bytes)
        {
            session.Report(TruncatedArrayRule, ScanLevel.Invalid,
                $"The array claims {bytes:N0} bytes but only {skipped:N0} follow (joblib: \"EOF: reading array data\").", start, cls.Name, "BUILD");
            return null;
        }
        return PickleValue.Opaque($"{bytes} bytes of array data read raw by joblib");
    }

    /// <summary>The wrapper's attributes: __init__ arguments (when it ran), then every BUILD state in order.</summary>
    private static Dictionary<string, PickleValue> WrapperAttributes(PickleObject wrapper)
    {
        var attributes = new Dictionary<string, PickleValue>(StringComparer.Ordinal);
        if (wrapper.InitCalled)
        {
            string[] parameters = ["subclass", "shape", "order", "dtype", "allow_mmap", "numpy_array_alignment_bytes"];
            var args = wrapper.Args.AsTuple;
            for (var i = 0; i < args.Length && i < parameters.Length; i++)
            {
                attributes[parameters[i]] = args[i];
            }
            attributes.TryAdd("allow_mmap", PickleValue.None);
            attributes.TryAdd("numpy_array_alignment_bytes", PickleValue.Int(16)); // NUMPY_ARRAY_ALIGNMENT_BYTES default
        }
        foreach (var state in wrapper.States)
        {
            var tuple = state.AsTuple;
            var (dict, slots) = tuple.Length == 2 ? (tuple[0].AsDict, tuple[1].AsDict) : (state.AsDict, null);
            foreach (var source in (PickleDict?[])[dict, slots])
            {
                if (source is null)
                {
                    continue;
                }
                foreach (var (key, value) in source.KeptItems)
                {
                    if (key.AsString is { } name)
                    {
                        attributes[name] = value;
                    }
                }
            }
        }
        return attributes;
    }

    /// <summary>prod(shape) as joblib's read_array computes it (an empty shape is one element); null when not a tuple of ints ≥ 0.</summary>
    private static BigInteger? ShapeCount(PickleValue shape)
    {
        var dims = shape.AsTuple;
        if (shape.Kind != PickleValueKind.Tuple)
        {
            return null;
        }
        BigInteger count = 1;
        foreach (var dim in dims)
        {
            if (dim.AsBigInteger is not { } d || d < 0)
            {
                return null;
            }
            count *= d;
        }
        return count;
    }

    /// <summary>What read_array needs from a pickled <c>numpy.dtype</c>: its item size and whether it holds objects.</summary>
    private sealed record NumpyDtype(long ItemSize, bool HasObject)
    {
        private const int NpyItemRefcount = 0x01; // NPY_ITEM_REFCOUNT (NPY_ITEM_HASOBJECT) in the pickled flags

        /// <summary>
        /// numpy's <c>arraydescr_reduce</c> pickles a dtype as <c>numpy.dtype(kind+size, False, True)</c> then BUILD with
        /// <c>(version, endian, subarray, names, fields, elsize, alignment, flags[, metadata])</c>; elsize is set only for
        /// flexible types, and a 'U' size counts characters (4 bytes each).
        /// </summary>
        public static NumpyDtype? From(PickleValue value, int depth = 0)
        {
            if (depth > 32 || value.AsObject is not { } dtype || dtype.CalleeGlobal is not { } cls ||
                !(cls.Is("numpy", "dtype") || cls.Is("numpy.core.multiarray", "dtype") || cls.Is("numpy._core.multiarray", "dtype")))
            {
                return null;
            }
            var args = dtype.Args.AsTuple;
            if (args.Length < 1 || args[0].AsString is not { Length: >= 1 } type)
            {
                return null;
            }
            var typeText = type.TrimStart('<', '>', '|', '=');
            if (typeText.Length == 0)
            {
                return null;
            }
            var kind = typeText[0];
            long size = 0;
            var digits = typeText[1..];
            var hasSize = digits.Length > 0 && long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out size);
            if (kind == 'U' && hasSize)
            {
                size *= 4;
            }
            var hasObject = kind == 'O';
            if (dtype.States.Count > 0)
            {
                var state = dtype.States[^1].AsTuple;
                if (state.Length >= 8)
                {
                    if (state[5].AsInt64 is { } elsize && elsize > 0)
                    {
                        size = elsize;
                        hasSize = true;
                    }
                    if (state[7].AsInt64 is { } flags && (flags & NpyItemRefcount) != 0)
                    {
                        hasObject = true;
                    }
                }
                if (state.Length >= 5)
                {
                    hasObject |= ContainsObjectDtype(state[2], depth) || ContainsObjectDtype(state[4], depth);
                }
            }
            if (hasObject)
            {
                return new NumpyDtype(Math.Max(size, 8), true);
            }
            return hasSize && size > 0 ? new NumpyDtype(size, false) : null;
        }

        /// <summary>A subarray (dtype, shape) or fields {name: (dtype, offset[, title])} that holds an object dtype.</summary>
        private static bool ContainsObjectDtype(PickleValue value, int depth)
        {
            if (value.Kind == PickleValueKind.Tuple && value.AsTuple.Length >= 1)
            {
                return From(value.AsTuple[0], depth + 1) is { HasObject: true };
            }
            if (value.AsDict is { } fields)
            {
                foreach (var (_, field) in fields.KeptItems)
                {
                    if (field.Kind == PickleValueKind.Tuple && field.AsTuple.Length >= 1 && From(field.AsTuple[0], depth + 1) is { HasObject: true })
                    {
                        return true;
                    }
                }
            }
            return false;
        }
    }

}
