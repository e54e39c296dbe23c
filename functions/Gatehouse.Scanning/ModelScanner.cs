namespace Gatehouse.Scanning;

/// <summary>
/// The entry point: tells the format by content (never by extension), hands the file to the reader that mirrors its
/// loader, and returns the verdict with every finding.
/// </summary>
public sealed class ModelScanner
{
    private readonly ScanLimits _limits;

    public ModelScanner(ScanLimits? limits = null) => _limits = limits ?? new ScanLimits();

    /// <summary>Scans one file. <paramref name="stream"/> must be seekable (containers read directories).</summary>
    public Task<FileReport> ScanAsync(Stream stream, string path, CancellationToken cancellationToken) => throw new NotImplementedException();
}
