using Gatehouse.Scanning.Pickle;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// joblib files: a pickle whose <c>NumpyArrayWrapper</c> objects are followed by raw array bytes that joblib reads
/// mid-stream, optionally wrapped in one of joblib's compressors (zlib, gzip, bz2, lzma, xz, lz4).
/// </summary>
public static class JoblibReader
{
    /// <summary>Scans an uncompressed joblib/pickle stream, skipping each wrapper's raw array region as joblib does.</summary>
    public static IReadOnlyList<ModelFinding> Scan(Stream stream, string? path, PickleScanner scanner) => throw new NotImplementedException();
}
