using Gatehouse.Scanning.Pickle;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// Legacy (pre-zip) <c>torch.save</c>: five pickles in a row (magic number, protocol version, sys info, the object,
/// the storage keys) followed by raw storage bytes; the magic pickle must be a bare integer.
/// </summary>
public static class LegacyTorchReader
{
    /// <summary>True when the stream starts like a legacy torch file (a pickle whose first value is an integer).</summary>
    public static bool LooksLike(ReadOnlySpan<byte> head) => throw new NotImplementedException();

    /// <summary>Scans exactly the pickles <c>torch.load</c> executes; bytes after the storage keys are inert.</summary>
    public static IReadOnlyList<ModelFinding> Scan(Stream stream, string? path, PickleScanner scanner) => throw new NotImplementedException();
}
