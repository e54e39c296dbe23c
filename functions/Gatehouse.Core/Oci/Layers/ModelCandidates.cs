using System.Buffers.Binary;
using Gatehouse.Scanning;

namespace Gatehouse.Oci.Layers;

/// <summary>
/// Which files of a layer go to the model scanner: content that starts like a format the scanner reads, or a name that
/// claims a model loader. Program code is not a model: a container runs what it runs, and install-time rules (a
/// <c>.pth</c> line that imports, a <c>sitecustomize.py</c>) are for packages being installed, not images.
/// </summary>
public static class ModelCandidates
{
    /// <summary>The scanner's rule for running past <see cref="ScanLimits.MaxDuration"/>, which the budget's time sets.</summary>
    public const string ScannerTimeLimit = "scan.time-limit";

    private delegate bool HeadTest(ReadOnlySpan<byte> head);

    /// <summary>Heads of the formats the scanner reads, each with the loader that reads it so.</summary>
    private static readonly IReadOnlyList<(string Format, string Reason, HeadTest Matches)> Signatures =
    [
        ("pickle", "pickle.load reads protocol 2-5 streams, which start with PROTO \\x80 and the protocol", h => h is [0x80, >= 2 and <= 5, ..]),
        ("zip", "torch.load, np.load and Keras open zips (PK\\x03\\x04)", h => h.StartsWith("PK\x03\x04"u8)),
        ("npy", "np.load checks the \\x93NUMPY magic", h => h.StartsWith((ReadOnlySpan<byte>)[0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'])),
        ("hdf5", "h5py finds the HDF5 signature at 0 or after a user block of 512·2^k bytes", IsHdf5),
        ("gguf", "llama.cpp checks the GGUF magic", h => h.StartsWith("GGUF"u8)),
        ("7z", "hides checkpoints from scanners that route by extension (nullifAI)", h => h.StartsWith((ReadOnlySpan<byte>)[(byte)'7', (byte)'z', 0xBC, 0xAF, 0x27, 0x1C])),
        ("safetensors", "a little-endian u64 header length, then the JSON header", h => h.Length > 9 && h[8] == '{' && BinaryPrimitives.ReadUInt64LittleEndian(h) is > 1 and < 100_000_000),
    ];

    /// <summary>Whether the regular file at <paramref name="path"/> whose content starts with <paramref name="head"/> is scanned.</summary>
    public static bool IsCandidate(string path, ReadOnlySpan<byte> head)
    {
        var name = LayerPaths.Name(path);
        var extension = Path.GetExtension(name).ToLowerInvariant();
        if (extension is ".py" or ".pyc" or ".pyo" || head.StartsWith((ReadOnlySpan<byte>)[0x7F, (byte)'E', (byte)'L', (byte)'F']))
        {
            return false;
        }
        if (extension == ".pth" && IsSitePathFile(path, head))
        {
            return false;
        }
        foreach (var (_, _, matches) in Signatures)
        {
            if (matches(head))
            {
                return true;
            }
        }
        return ModelScanner.ClaimedLoader(name) is not null;
    }

    /// <summary>
    /// A text <c>.pth</c> file in a site directory is a path configuration file the <c>site</c> module reads
    /// (https://docs.python.org/3/library/site.html), not a torch checkpoint.
    /// </summary>
    private static bool IsSitePathFile(string path, ReadOnlySpan<byte> head)
    {
        if (LayerPaths.Name(LayerPaths.Parent(path)) is not ("site-packages" or "dist-packages") || !System.Text.Unicode.Utf8.IsValid(head))
        {
            return false;
        }
        foreach (var b in head)
        {
            if (b < 0x20 && b is not (byte)'\n' and not (byte)'\r' and not (byte)'\t')
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsHdf5(ReadOnlySpan<byte> head)
    {
        ReadOnlySpan<byte> signature = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A];
        for (var offset = 0; offset + signature.Length <= head.Length; offset = offset == 0 ? 512 : offset * 2)
        {
            if (head[offset..].StartsWith(signature))
            {
                return true;
            }
        }
        return false;
    }
}
