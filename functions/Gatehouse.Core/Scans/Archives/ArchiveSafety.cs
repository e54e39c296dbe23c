using System.Buffers;
using Gatehouse.Configuration;

namespace Gatehouse.Scans.Archives;

/// <summary>
/// Archive safety for any zip or tar content (wheels and sdists first of all): bombs by size, count and ratio
/// (measured while decompressing, never taken from headers), path traversal, links, special files, duplicate names
/// and nesting depth. Nested archives are opened recursively up to the limit.
/// </summary>
public sealed class ArchiveSafety
{
    /// <summary>Rules with the reason each is dangerous.</summary>
    public static class Rules
    {
        /// <summary>An installer writes outside its target directory.</summary>
        public const string PathTraversal = "archive.path-traversal";
        /// <summary>A link can redirect writes or reads outside the install tree.</summary>
        public const string Link = "archive.link";
        /// <summary>Device files and FIFOs have no place in a Python distribution.</summary>
        public const string SpecialFile = "archive.special-file";
        /// <summary>Decompression that exhausts disk or memory.</summary>
        public const string Bomb = "archive.bomb";
        /// <summary>Two members with one name: tools disagree on which one wins.</summary>
        public const string DuplicateName = "archive.duplicate-name";
        /// <summary>Archives inside archives beyond the depth anyone needs hide content from scanners.</summary>
        public const string NestingDepth = "archive.nesting-depth";
        /// <summary>The container cannot be read, so nothing in it was checked.</summary>
        public const string Unreadable = "archive.unreadable";
        /// <summary>The content is not the archive its name says.</summary>
        public const string FormatMismatch = "archive.format-mismatch";
        /// <summary>A NUL or backslash makes a name mean different files to different tools (Python cuts at NUL).</summary>
        public const string AmbiguousName = "archive.ambiguous-name";
        /// <summary>A tar name or pax record too large to read: Python's tarfile, and pip with it, would load it whole.</summary>
        public const string OversizedHeader = Gatehouse.Scanning.Containers.BoundedTarReader.OversizedHeaderRule;
    }

    private const int MeasureBuffer = 256 * 1024;

    private static readonly string[] NestedSuffixes = [".whl", ".zip", ".egg", ".jar", ".tar.gz", ".tgz", ".tar"];

    private readonly ArchiveLimits _limits;
    private readonly ScanBudget? _scanBudget;

    /// <param name="limits">The archive limits.</param>
    /// <param name="budget">The check's budget, which every spool to temp disk draws on; none for no bound but the limits.</param>
    public ArchiveSafety(ArchiveLimits limits, ScanBudget? budget = null)
    {
        _limits = limits;
        _scanBudget = budget;
    }

    /// <summary>
    /// The archive format and its findings; a content that is no archive gets no findings here (what that means for a
    /// file is decided per reference: a package must be an archive, a model file need not be).
    /// </summary>
    public async Task<(ArchiveFormat Format, IReadOnlyList<Finding> Findings)> InspectAsync(Stream seekable, CancellationToken cancellationToken)
    {
        var format = await ArchiveReader.SniffAsync(seekable, cancellationToken);
        if (format == ArchiveFormat.Unknown)
        {
            return (format, []);
        }
        return (format, (await WalkAsync(seekable, format, visitor: null, cancellationToken)).Findings);
    }

    /// <summary>
    /// One walk over an archive's members: the safety findings, with each top-level member handed to
    /// <paramref name="visitor"/> first (so other checks read the archive in the same pass). Nested archives are
    /// inspected here alone.
    /// </summary>
    public async Task<ArchiveWalk> WalkAsync(Stream seekable, ArchiveFormat format, IArchiveMemberVisitor? visitor, CancellationToken cancellationToken)
    {
        var findings = new List<Finding>();
        try
        {
            var end = await InspectArchiveAsync(seekable, format, "", depth: 0, new Budget(), findings, visitor, cancellationToken);
            return new ArchiveWalk(findings, end, BudgetExceeded: false);
        }
        catch (ScanBudgetExceededException e)
        {
            return OutOfBudget(findings, e.ToFinding());
        }
        catch (OperationCanceledException) when (_scanBudget is { TimedOut: true })
        {
            return OutOfBudget(findings, _scanBudget.TimeExceeded());
        }
    }

    // The reason names the rule, so that a refusal that quotes it says which budget ran out.
    private static ArchiveWalk OutOfBudget(List<Finding> findings, Finding exceeded)
    {
        findings.Add(exceeded);
        return new ArchiveWalk(findings, $"{exceeded.Rule}: {exceeded.Message}", BudgetExceeded: true);
    }

    /// <returns>How the walk ended: null when it reached the end, else why it stopped.</returns>
    private async Task<string?> InspectArchiveAsync(Stream stream, ArchiveFormat format, string prefix, int depth, Budget budget, List<Finding> findings,
        IArchiveMemberVisitor? visitor, CancellationToken cancellationToken)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await foreach (var (member, content) in ArchiveReader.ReadAsync(stream, format, cancellationToken))
            {
                var path = prefix + member.Path;
                if (++budget.Entries > _limits.MaxEntries)
                {
                    findings.Add(new Finding(Rules.Bomb, Severity.Dangerous, $"More than {_limits.MaxEntries} members.", path));
                    return "the archive has too many members";
                }
                CheckName(member, path, names, findings);
                // Another check reads what it needs first, through a window that stops at the member limit; the rest is measured here.
                var measured = content is null ? null : new CountingStream(content, _limits.MaxEntryUncompressedBytes + 1);
                if (visitor is not null)
                {
                    await visitor.VisitAsync(member, measured, cancellationToken);
                }
                if (measured is null)
                {
                    continue;
                }
                if (await MeasureAsync(member, format, path, measured, depth, budget, findings, cancellationToken) is false)
                {
                    return "an archive limit was reached";
                }
            }
            return null;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or NotSupportedException)
        {
            findings.Add(new Finding(Rules.Unreadable, Severity.Suspicious, $"The archive could not be read to the end: {e.Message}", prefix.Length > 0 ? prefix : null));
            return $"the archive could not be read: {e.Message}";
        }
    }

    private static void CheckName(ArchiveMember member, string path, HashSet<string> names, List<Finding> findings)
    {
        if (member.OversizedHeader is { } oversized)
        {
            findings.Add(new Finding(Rules.OversizedHeader, Severity.Dangerous, $"Before member {member.Path}, {oversized}; tarfile would read it into memory.", path));
        }
        if (IsTraversal(member.Path))
        {
            findings.Add(new Finding(Rules.PathTraversal, Severity.Dangerous, $"Member name {member.Path} escapes the install directory.", path));
        }
        if (member.Path.Contains('\0'))
        {
            findings.Add(new Finding(Rules.AmbiguousName, Severity.Dangerous, $"Member name {Printable(member.Path)} contains a NUL; Python writes it under the name before the NUL.", path));
        }
        else if (member.Path.Contains('\\'))
        {
            findings.Add(new Finding(Rules.AmbiguousName, Severity.Suspicious, $"Member name {member.Path} contains a backslash: a folder on Windows, part of the name elsewhere.", path));
        }
        if (!names.Add(InstallTimeCode.InstalledPath(member.Path)) && member.Kind != MemberKind.Directory)
        {
            findings.Add(new Finding(Rules.DuplicateName, Severity.Suspicious, $"{member.Path} appears more than once; installers disagree on which copy wins.", path));
        }
        switch (member.Kind)
        {
            case MemberKind.Symlink or MemberKind.Hardlink:
                var escapes = member.LinkTarget is null || LinkEscapes(member.Kind == MemberKind.Hardlink ? "" : member.Path, member.LinkTarget);
                findings.Add(new Finding(Rules.Link, escapes ? Severity.Dangerous : Severity.Suspicious,
                    escapes ? $"{member.Kind} {member.Path} points outside the archive ({member.LinkTarget ?? "unknown target"})."
                            : $"{member.Kind} {member.Path} → {member.LinkTarget}; Python distributions do not need links.", path));
                break;
            case MemberKind.Special:
                findings.Add(new Finding(Rules.SpecialFile, Severity.Dangerous, $"{member.Path} is a device, FIFO or other special file.", path));
                break;
        }
    }

    /// <returns>false when a limit was hit and the walk must stop.</returns>
    private async Task<bool> MeasureAsync(ArchiveMember member, ArchiveFormat format, string path, CountingStream content, int depth, Budget budget, List<Finding> findings,
        CancellationToken cancellationToken)
    {
        var nested = NestedSuffixes.Any(s => member.Path.EndsWith(s, StringComparison.OrdinalIgnoreCase));
        if (!nested && member.CompressedSize >= 0 && member.CompressedSize == member.DeclaredSize)
        {
            // A zip member stored, not compressed, cannot expand, and readers stop at its declared size: reading it
            // would only cost time (a checkpoint's tensors are gigabytes of stored members) and it spends no budget.
            return true;
        }
        // What a plain tar holds is the file's own bytes: only decompressed bytes (zip members, a gzip'd tar) can be a bomb.
        var expands = format != ArchiveFormat.Tar;
        FileStream? spool = null;
        long spooled = 0;
        byte[]? buffer = null;
        try
        {
            if (nested && depth + 1 > _limits.MaxNestingDepth)
            {
                findings.Add(new Finding(Rules.NestingDepth, Severity.Suspicious, $"Archive nested {depth + 1} deep; the limit is {_limits.MaxNestingDepth}.", path));
                nested = false;
            }
            if (nested)
            {
                // Nested zips need seeking: spool to a temp file, bounded by the same limits and the check's temp budget.
                spool = new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
            }
            // One large pooled buffer: a deflate stream's per-call cost dominates small reads (about 70 MB/s at 80 KiB).
            buffer = ArrayPool<byte>.Shared.Rent(MeasureBuffer);
            // Bytes another check already read count as read here (it reads no nested archives, so a spool misses none).
            var size = content.Count;
            budget.Total += expands ? size : 0;
            var read = 0;
            do
            {
                size += read;
                budget.Total += expands ? read : 0;
                if (expands && size > _limits.MaxEntryUncompressedBytes)
                {
                    findings.Add(new Finding(Rules.Bomb, Severity.Dangerous, $"{member.Path} expands past {_limits.MaxEntryUncompressedBytes} bytes.", path));
                    return false;
                }
                if (budget.Total > _limits.MaxTotalUncompressedBytes)
                {
                    findings.Add(new Finding(Rules.Bomb, Severity.Dangerous, $"The archive expands past {_limits.MaxTotalUncompressedBytes} bytes in total.", path));
                    return false;
                }
                if (spool is not null && read > 0)
                {
                    _scanBudget?.TakeTemp(read, path);
                    spooled += read;
                    await spool.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }
            while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0);
            if (member.CompressedSize > 0 && size >= _limits.RatioThresholdBytes && (double)size / member.CompressedSize > _limits.MaxCompressionRatio)
            {
                findings.Add(new Finding(Rules.Bomb, Severity.Dangerous,
                    $"{member.Path} expands {size / member.CompressedSize}× ({member.CompressedSize} → {size} bytes); the limit is {_limits.MaxCompressionRatio}×.", path));
                return false;
            }
            if (spool is not null)
            {
                spool.Position = 0;
                var nestedFormat = await ArchiveReader.SniffAsync(spool, cancellationToken);
                if (nestedFormat != ArchiveFormat.Unknown)
                {
                    await InspectArchiveAsync(spool, nestedFormat, path + "!/", depth + 1, budget, findings, visitor: null, cancellationToken);
                }
            }
            return true;
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            if (spool is not null)
            {
                await spool.DisposeAsync();
                _scanBudget?.ReturnTemp(spooled);
            }
        }
    }

    internal static bool IsTraversal(string name)
    {
        var n = name.Replace('\\', '/');
        return n.StartsWith('/') || (n.Length >= 2 && n[1] == ':') || n.Split('/').Any(s => s == "..");
    }

    // A symlink resolves from its own folder; a tar hardlink names a path from the archive root (as tarfile does).
    private static bool LinkEscapes(string memberPath, string target)
    {
        if (target.StartsWith('/') || target.StartsWith('\\') || (target.Length >= 2 && target[1] == ':'))
        {
            return true;
        }
        var depth = Math.Max(0, memberPath.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries).Count(s => s != ".") - 1);
        foreach (var segment in target.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            depth += segment == ".." ? -1 : segment == "." ? 0 : 1;
            if (depth < 0)
            {
                return true;
            }
        }
        return false;
    }

    private static string Printable(string name) => name.Replace("\0", "\\0", StringComparison.Ordinal);

    private sealed class Budget
    {
        public long Total;
        public int Entries;
    }

    /// <summary>A member's content that counts what is read from it and ends at <paramref name="cap"/> bytes.</summary>
    private sealed class CountingStream(Stream inner, long cap) : Stream
    {
        public long Count { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Count; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer) => Counted(Count >= cap ? 0 : inner.Read(buffer[..Window(buffer.Length)]));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Counted(Count >= cap ? 0 : await inner.ReadAsync(buffer[..Window(buffer.Length)], cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Window(int length) => (int)Math.Min(length, cap - Count);

        private int Counted(int read)
        {
            Count += read;
            return read;
        }
    }
}

/// <summary>Another check that reads an archive's top-level members in the same walk as <see cref="ArchiveSafety"/>.</summary>
public interface IArchiveMemberVisitor
{
    /// <summary>One member, with its content (null for non-files), which it may read part or all of.</summary>
    Task VisitAsync(ArchiveMember member, Stream? content, CancellationToken cancellationToken);
}

/// <summary>The findings of one walk, why it stopped before the end (null when it did not), and whether a scan budget stopped it.</summary>
public sealed record ArchiveWalk(IReadOnlyList<Finding> Findings, string? StoppedBecause, bool BudgetExceeded);
