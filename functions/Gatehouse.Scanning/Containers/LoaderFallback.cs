using System.Buffers.Binary;
using Gatehouse.Scanning.Pickle;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// What the loader a file name claims does with content that carries none of the signatures of the formats it reads:
/// its own fallback path, followed to where it fails. Content is inert to a loader that fails before it imports or calls
/// anything, and judged by what it reaches otherwise. Each entry cites the loader's source.
/// </summary>
internal static class LoaderFallback
{
    /// <summary>How a loader treats bytes with no signature it knows.</summary>
    internal enum Family
    {
        /// <summary>Falls back to unpickling them (torch.load's legacy path, pickle, joblib, np.load with allow_pickle).</summary>
        Pickle,
        /// <summary>Parses them as a protobuf message, which has no signature (TensorFlow graphs, ONNX).</summary>
        Protobuf,
        /// <summary>Refuses them: the format starts with (or, for zips, ends with) a signature the content lacks.</summary>
        Signature,
    }

    /// <param name="Call">The loading call, as a user writes it.</param>
    /// <param name="Family">Its fallback.</param>
    /// <param name="Path">Why the content reaches that fallback (or fails), for the report.</param>
    /// <param name="ReadsTar">Python's tarfile reads it, which accepts headers the scanner's tar sniffing may not.</param>
    internal sealed record Loader(string Call, Family Family, string Path, bool ReadsTar = false);

    /// <summary>The loaders file names claim; the only use of a name in the scanner.</summary>
    private static readonly IReadOnlyDictionary<string, Loader> ByExtension = Build();

    private static Dictionary<string, Loader> Build()
    {
        // torch/serialization.py: load() takes the zip path only when _is_zipfile sees PK\x03\x04 at offset 0; _legacy_load
        // then tries tarfile.open(mode="r:") and, on TarError, unpickles the magic number with pickle_module.load.
        var torch = "no zip (PK\\x03\\x04) or tar header, so its legacy path unpickles the magic number";
        // joblib/numpy_pickle_utils.py _detect_compressor: no zlib/gzip/bz2/xz/lzma/lz4 prefix and no 'ZF' means a plain pickle.
        var joblib = "no compressor prefix or 'ZF' header, so NumpyUnpickler reads a plain pickle";
        // numpy/lib/_npyio_impl.py load: PK\x03\x04 or PK\x05\x06 is an .npz, \x93NUMPY an .npy, anything else pickle.load.
        var numpy = "no zip or \\x93NUMPY magic, so it calls pickle.load (allow_pickle=True)";
        return new Dictionary<string, Loader>(StringComparer.OrdinalIgnoreCase)
        {
            [".bin"] = new("torch.load", Family.Pickle, torch),
            [".pt"] = new("torch.load", Family.Pickle, torch),
            [".pth"] = new("torch.load", Family.Pickle, torch),
            [".ckpt"] = new("torch.load", Family.Pickle, torch),
            [".pkl"] = new("pickle.load", Family.Pickle, "it unpickles the bytes as they are"),
            [".pickle"] = new("pickle.load", Family.Pickle, "it unpickles the bytes as they are"),
            [".dill"] = new("dill.load", Family.Pickle, "dill's Unpickler reads the bytes as a pickle"),
            [".joblib"] = new("joblib.load", Family.Pickle, joblib),
            [".npy"] = new("np.load", Family.Pickle, numpy),
            [".npz"] = new("np.load", Family.Pickle, numpy),
            // safetensors: an 8-byte little-endian header length, then that many bytes of JSON; nothing else is read.
            [".safetensors"] = new("safetensors.safe_open", Family.Signature, "there is no 8-byte header length followed by a JSON header"),
            // llama.cpp gguf.cpp: gguf_init_from_file checks the magic "GGUF" first.
            [".gguf"] = new("llama.cpp", Family.Signature, "there is no GGUF magic"),
            [".onnx"] = new("onnxruntime.InferenceSession", Family.Protobuf, "an ONNX model is a protobuf ModelProto"),
            // keras/src/saving/saving_lib.py _load_model_from_fileobj: zipfile.ZipFile, which needs an end-of-central-directory record.
            [".keras"] = new("keras.saving.load_model", Family.Signature, "it is no zip archive"),
            // h5py (H5Fopen) looks for the signature at 0, 512, 1024 … ; Keras' legacy H5 loader and H5IOStore open it with h5py.
            [".h5"] = new("h5py.File (Keras H5)", Family.Signature, "there is no HDF5 signature at 0, 512, 1024 …"),
            [".hdf5"] = new("h5py.File (Keras H5)", Family.Signature, "there is no HDF5 signature at 0, 512, 1024 …"),
            [".pb"] = new("TensorFlow (saved_model.pb / GraphDef)", Family.Protobuf, "a graph is a protobuf message"),
            // TorchServe model-archiver writes a zip (default) or a tar.gz; the server unpacks one of those.
            [".mar"] = new("TorchServe", Family.Signature, "it is no zip or tar.gz archive", ReadsTar: true),
            // nemo/core/connectors/save_restore_connector.py: tarfile.open(path, "r:") or "r:gz".
            [".nemo"] = new("NeMo restore_from", Family.Signature, "it is no tar or tar.gz archive", ReadsTar: true),
        };
    }

    /// <summary>The loader <paramref name="fileName"/> claims, or null.</summary>
    public static Loader? For(string? fileName) =>
        fileName is not null && ByExtension.TryGetValue(Path.GetExtension(fileName), out var loader) ? loader : null;

    /// <summary>What unpickling the content reaches: inert (it breaks first) or the findings on what it reached.</summary>
    internal sealed record PickleProbe(bool Inert, string Failure, IReadOnlyList<ModelFinding> Findings);

    /// <summary>Runs the unpickler over the content until it stops, the way every pickle fallback would.</summary>
    public static PickleProbe ProbePickle(ScanContext context, Stream content, string? path, int depth, string loader)
    {
        using var session = context.Pickles.Open(content, path, depth, loader);
        if (session.IsAtEnd)
        {
            if (session.StreamError is { } error)
            {
                throw new InvalidDataException($"The content could not be read: {error.Message}", error);
            }
            return new PickleProbe(true, "the content is empty (EOFError)", []);
        }
        var result = session.LoadOne();
        var inert = result.Status == PickleLoadStatus.Failed && session.IsInert;
        return new PickleProbe(inert, session.LastFailure?.Message ?? "", session.Findings.Where(f => f.Rule != InertContent.Rule).ToList());
    }

    /// <summary>
    /// False when the bytes cannot be a protobuf message (a field number 0, wire type 6 or 7, a length past the end, an
    /// unbalanced group): the parser rejects them, so neither TensorFlow nor ONNX Runtime reads anything. Empty content
    /// parses as an empty message, which holds no graph and runs nothing, so it counts as no message here.
    /// </summary>
    public static bool MayBeProtobuf(ReadOnlySpan<byte> head, long? total)
    {
        var whole = total is { } t && t <= head.Length;
        var end = total ?? long.MaxValue;
        if (head.Length == 0)
        {
            return false;
        }
        var groups = new Stack<ulong>();
        var pos = 0;
        while (pos < head.Length)
        {
            if (!ReadVarint(head, ref pos, out var tag))
            {
                return !whole;
            }
            var field = tag >> 3;
            if (field == 0)
            {
                return false;
            }
            switch (tag & 7)
            {
                case 0:
                    if (!ReadVarint(head, ref pos, out _))
                    {
                        return !whole && pos >= head.Length;
                    }
                    break;
                case 1:
                    pos += 8;
                    break;
                case 5:
                    pos += 4;
                    break;
                case 2:
                    if (!ReadVarint(head, ref pos, out var length))
                    {
                        return !whole && pos >= head.Length;
                    }
                    if (length > (ulong)Math.Max(0, end - pos))
                    {
                        return false;
                    }
                    if ((ulong)pos + length > (ulong)head.Length)
                    {
                        return !whole;
                    }
                    pos += (int)length;
                    break;
                case 3:
                    groups.Push(field);
                    break;
                case 4:
                    if (groups.Count == 0 || groups.Pop() != field)
                    {
                        return false;
                    }
                    break;
                default:
                    return false;
            }
        }
        return pos > head.Length ? !whole && pos <= end : !whole || groups.Count == 0;
    }

    /// <summary>A protobuf varint at <paramref name="pos"/>; false when the data ends first or it runs past ten bytes.</summary>
    internal static bool ReadVarint(ReadOnlySpan<byte> data, ref int pos, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (pos >= data.Length)
            {
                return false;
            }
            var b = data[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }
        pos = data.Length + 1; // more than ten bytes: no varint
        return false;
    }

    /// <summary>
    /// True when Python's tarfile would take the first block as a header (Lib/tarfile.py TarInfo.frombuf: not all NUL, and
    /// the checksum field, octal or base-256, equals the unsigned or the signed byte sum), however odd the rest.
    /// </summary>
    public static bool MayBeTar(ReadOnlySpan<byte> head)
    {
        if (head.Length < 512 || head[..512].IndexOfAnyExcept((byte)0) < 0)
        {
            return false;
        }
        var field = head.Slice(148, 8);
        long stored;
        if (field[0] is 0x80 or 0xFF)
        {
            stored = 0;
            foreach (var b in field[1..])
            {
                stored = (stored << 8) | b;
            }
        }
        else
        {
            var digits = field.Trim((byte)0).Trim((byte)' ');
            var nul = digits.IndexOf((byte)0);
            digits = nul >= 0 ? digits[..nul] : digits;
            stored = 0;
            foreach (var d in digits)
            {
                if (d is < (byte)'0' or > (byte)'7')
                {
                    return false;
                }
                stored = stored * 8 + (d - '0');
            }
        }
        long unsigned = 0, signed = 0;
        for (var i = 0; i < 512; i++)
        {
            var b = i is >= 148 and < 156 ? (byte)' ' : head[i];
            unsigned += b;
            signed += (sbyte)b;
        }
        return stored == unsigned || stored == signed;
    }

    /// <summary>The first bytes as hex, for a report ("3f 12 a0 07").</summary>
    public static string FirstBytes(ReadOnlySpan<byte> head) =>
        head.IsEmpty ? "none" : Convert.ToHexString(head[..Math.Min(8, head.Length)]).ToLowerInvariant().Chunk(2).Select(pair => new string(pair)).Aggregate((a, b) => $"{a} {b}");

    /// <summary>The HDF5 superblock signature at 64 KiB, 128 KiB … (h5py searches every power of two, past what the head holds).</summary>
    public static bool HasFarHdf5Signature(Stream seekable, long start)
    {
        ReadOnlySpan<byte> signature = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A];
        Span<byte> probe = stackalloc byte[8];
        var length = seekable.Length - start;
        for (long offset = ScanContext.HeadSize; offset + 8 <= length; offset *= 2)
        {
            seekable.Position = start + offset;
            if (ScanContext.ReadAtMost(seekable, probe) == 8 && probe.SequenceEqual(signature))
            {
                return true;
            }
        }
        return false;
    }
}
