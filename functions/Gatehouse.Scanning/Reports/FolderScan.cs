namespace Gatehouse.Scanning.Reports;

/// <summary>Scans files and folders (recursively, in a stable order) the way <c>gatehouse scan</c> does.</summary>
public static class FolderScan
{
    public static async Task<ScanRun> RunAsync(IEnumerable<string> paths, ModelScanner scanner, CancellationToken cancellationToken)
    {
        var files = new List<ScannedFile>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                foreach (var file in Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }).Order(StringComparer.Ordinal))
                {
                    files.Add(await ScanFileAsync(file, scanner, cancellationToken));
                }
            }
            else if (File.Exists(path))
            {
                files.Add(await ScanFileAsync(path, scanner, cancellationToken));
            }
            else
            {
                files.Add(new ScannedFile(path, null, "no such file or folder"));
            }
        }
        return new ScanRun(files);
    }

    private static async Task<ScannedFile> ScanFileAsync(string path, ModelScanner scanner, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
            return new ScannedFile(path, await scanner.ScanAsync(stream, path, cancellationToken), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ScannedFile(path, null, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A scanner fault is an error for this file (exit 2), never a pass.
            return new ScannedFile(path, null, $"scanner failed: {e.GetType().Name}: {e.Message}");
        }
    }
}
