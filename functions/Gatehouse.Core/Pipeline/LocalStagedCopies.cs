using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Pipeline;

/// <summary>Staging settings (section <c>Gatehouse:Staging</c>).</summary>
public sealed class StagingOptions
{
    public const string Section = "Gatehouse:Staging";

    /// <summary>
    /// The most bytes of local copies of staged contents this process keeps at once, for the checks to read instead of
    /// the staged blob; a content larger than what is left is read from the blob. 0 turns the copies off.
    /// </summary>
    public long LocalCopyMaxBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>Where the copies are written; empty means a folder under the system's temp folder.</summary>
    public string LocalCopyDirectory { get; set; } = "";

    /// <summary>Blocks of one blob staged at once (Azure Storage takes them in parallel); 1 stages them one after another.</summary>
    public int BlocksInFlight { get; set; } = StagingWriter.DefaultBlocksInFlight;

    /// <summary>
    /// Whether the content checks run in the fetch's process as soon as the bytes are verified (one Durable round less
    /// before the verdict); false schedules each as its own activity after the fetch.
    /// </summary>
    public bool ChecksWithFetch { get; set; } = true;
}

/// <summary>
/// Local copies of the bytes being staged, written while they stream in, so this process's checks read the content
/// from disk once instead of downloading the staged blob again. A copy counts only after its sha256 (and size) matched
/// and the blob was committed (<see cref="PendingCopy.KeepAsync"/>); a copy that is abandoned, over the limit, or that a
/// previous process left is deleted, never read. Checks in another process (scale-out) read the blob as before.
/// </summary>
public sealed class LocalStagedCopies : IDisposable
{
    private readonly ConcurrentDictionary<string, Kept> _kept = new(StringComparer.Ordinal);
    private readonly long _limit;
    private readonly ILogger<LocalStagedCopies> _log;
    private long _reserved;

    public LocalStagedCopies(IOptions<StagingOptions> options, ILogger<LocalStagedCopies> log)
    {
        _limit = options.Value.LocalCopyMaxBytes;
        _log = log;
        var root = options.Value.LocalCopyDirectory is { Length: > 0 } configured ? configured : Path.Combine(Path.GetTempPath(), "gatehouse-staged");
        // One folder per instance (several hosts may share a machine or a process); folders of ended processes go at start.
        Directory = Path.Combine(root, $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        if (_limit > 0)
        {
            DeleteLeftovers(root);
            System.IO.Directory.CreateDirectory(Directory);
        }
    }

    /// <summary>This instance's folder.</summary>
    public string Directory { get; }

    /// <summary>Bytes of copies kept or being written now.</summary>
    public long ReservedBytes => Interlocked.Read(ref _reserved);

    /// <summary>
    /// Starts a copy of <paramref name="sha256"/>, or null when copies are off, one exists or is being written, or
    /// <paramref name="expectedSize"/> does not fit in what is left of the limit.
    /// </summary>
    public PendingCopy? Begin(string sha256, long? expectedSize)
    {
        if (_limit <= 0 || _kept.ContainsKey(sha256))
        {
            return null;
        }
        var reserve = expectedSize ?? 0;
        if (!TryReserve(reserve))
        {
            return null;
        }
        var path = Path.Combine(Directory, $"{sha256}.{Guid.NewGuid():N}.partial");
        try
        {
            var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
            return new PendingCopy(this, sha256, path, file, reserve);
        }
        catch (IOException e)
        {
            Release(reserve);
            _log.LogWarning(e, "No local copy of {Sha256}: {Path} could not be created; the checks read the staged blob", sha256, path);
            return null;
        }
    }

    /// <summary>True when a verified local copy of <paramref name="sha256"/> is kept.</summary>
    public bool Holds(string sha256) => _kept.ContainsKey(sha256);

    /// <summary>The verified local copy of <paramref name="sha256"/>, or null when there is none (or it is no longer whole).</summary>
    public Stream? OpenRead(string sha256)
    {
        if (!_kept.TryGetValue(sha256, out var kept))
        {
            return null;
        }
        try
        {
            var stream = new FileStream(kept.Path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.Asynchronous | FileOptions.RandomAccess);
            if (stream.Length == kept.Size)
            {
                return stream;
            }
            stream.Dispose();
            _log.LogWarning("The local copy of {Sha256} is {Actual} bytes instead of {Size}; removed, the checks read the staged blob", sha256, new FileInfo(kept.Path).Length, kept.Size);
        }
        catch (IOException e)
        {
            _log.LogWarning(e, "The local copy of {Sha256} could not be opened; the checks read the staged blob", sha256);
        }
        Remove(sha256);
        return null;
    }

    /// <summary>Deletes the copy of <paramref name="sha256"/> (its checks are done); nothing when there is none.</summary>
    public void Remove(string sha256)
    {
        if (_kept.TryRemove(sha256, out var kept))
        {
            TryDelete(kept.Path);
            Release(kept.Size);
        }
    }

    public void Dispose()
    {
        foreach (var sha256 in _kept.Keys)
        {
            Remove(sha256);
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    internal bool TryReserve(long bytes)
    {
        while (true)
        {
            var now = Interlocked.Read(ref _reserved);
            if (now + bytes > _limit)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _reserved, now + bytes, now) == now)
            {
                return true;
            }
        }
    }

    internal void Release(long bytes) => Interlocked.Add(ref _reserved, -bytes);

    internal bool Keep(string sha256, string partial, long size)
    {
        var path = Path.Combine(Directory, sha256);
        if (_kept.ContainsKey(sha256))
        {
            return false;
        }
        try
        {
            File.Move(partial, path, overwrite: false);
        }
        catch (IOException e)
        {
            _log.LogWarning(e, "The local copy of {Sha256} could not be kept; the checks read the staged blob", sha256);
            return false;
        }
        return _kept.TryAdd(sha256, new Kept(path, size));
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private void DeleteLeftovers(string root)
    {
        if (!System.IO.Directory.Exists(root))
        {
            return;
        }
        foreach (var folder in System.IO.Directory.EnumerateDirectories(root))
        {
            var name = Path.GetFileName(folder);
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0 && int.TryParse(name.AsSpan(0, dash), out var pid) && !IsRunning(pid))
            {
                try
                {
                    System.IO.Directory.Delete(folder, recursive: true);
                    _log.LogInformation("Deleted the local staged copies {Folder} a previous process left", folder);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                }
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    private sealed record Kept(string Path, long Size);
}

/// <summary>
/// A local copy being written. It counts only when <see cref="KeepAsync"/> is called after the content was verified;
/// disposed without that (a mismatch, a broken body, a failed commit), its file is deleted.
/// </summary>
public sealed class PendingCopy : IDisposable
{
    private readonly LocalStagedCopies _owner;
    private readonly string _sha256;
    private readonly string _path;
    private FileStream? _file;
    private long _reserved;
    private long _written;

    internal PendingCopy(LocalStagedCopies owner, string sha256, string path, FileStream file, long reserved)
    {
        _owner = owner;
        _sha256 = sha256;
        _path = path;
        _file = file;
        _reserved = reserved;
    }

    /// <summary>False once the copy was given up (it outgrew the limit or the disk failed): the blob is read instead.</summary>
    public bool IsWriting => _file is not null;

    /// <summary>Appends the next bytes; a copy that would pass the limit is given up quietly, the staging goes on.</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        if (_file is null)
        {
            return;
        }
        _written += bytes.Length;
        if (_written > _reserved)
        {
            if (!_owner.TryReserve(_written - _reserved))
            {
                Abandon();
                return;
            }
            _reserved = _written;
        }
        try
        {
            await _file.WriteAsync(bytes, cancellationToken);
        }
        catch (IOException)
        {
            Abandon();
        }
    }

    /// <summary>The content was verified and committed as <paramref name="size"/> bytes: the copy may now be read.</summary>
    public async Task<bool> KeepAsync(long size)
    {
        if (_file is null || _written != size)
        {
            Abandon();
            return false;
        }
        var file = _file;
        _file = null;
        try
        {
            await file.DisposeAsync();
        }
        catch (IOException)
        {
            LocalStagedCopies.TryDelete(_path);
            _owner.Release(_reserved);
            return false;
        }
        if (!_owner.Keep(_sha256, _path, size))
        {
            LocalStagedCopies.TryDelete(_path);
            _owner.Release(_reserved);
            return false;
        }
        // The reservation now belongs to the kept copy (released by Remove); trim it to the exact size.
        _owner.Release(_reserved - size);
        return true;
    }

    public void Dispose() => Abandon();

    private void Abandon()
    {
        if (_file is null)
        {
            return;
        }
        _file.Dispose();
        _file = null;
        LocalStagedCopies.TryDelete(_path);
        _owner.Release(_reserved);
        _reserved = 0;
    }
}
