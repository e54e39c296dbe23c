using SharpCompress.Archives.SevenZip;
using SharpCompress.Readers;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// 7z archives. No model loader reads 7z; it appears to hide a checkpoint from scanners that route by extension
/// (nullifAI: a <c>.bin</c> that is a 7z holding <c>archive/data.pkl</c>). Members are unpacked with SharpCompress and
/// routed by content like any other; an archive that cannot be opened is Suspicious, never skipped.
/// </summary>
internal static class SevenZipReader
{
    public static ReadOnlySpan<byte> Magic => [0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C];

    public static void Scan(ScanContext context, Stream seekable, string? path, int depth)
    {
        seekable.Position = 0;
        SharpCompress.Archives.IArchive archive;
        try
        {
            archive = SevenZipArchive.OpenArchive(seekable, new ReaderOptions { LeaveStreamOpen = true });
            _ = archive.Entries.Count();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            context.Add(ContainerRules.NonStandard, ScanLevel.Suspicious,
                $"A 7z archive that cannot be opened ({e.GetType().Name}: {e.Message}); no model loader reads 7z, and its content was not checked.", path);
            return;
        }
        using (archive)
        {
            var names = new ArchiveMemberNames(context, path, extractedAsGiven: false);
            var archiveLength = Math.Max(1, seekable.Length);
            long decompressed = 0;
            using var reader = archive.ExtractAllEntries();
            while (reader.MoveToNextEntry())
            {
                context.ThrowIfCancelled();
                var entry = reader.Entry;
                var memberPath = ScanContext.Child(path, entry.Key ?? "(unnamed)");
                if (entry.IsDirectory)
                {
                    continue;
                }
                names.Check(entry.Key ?? "");
                if (entry.LinkTarget is not null)
                {
                    names.CheckLink(entry.Key ?? "", entry.LinkTarget, hard: false);
                    continue;
                }
                if (entry.IsEncrypted)
                {
                    context.Add(ContainerRules.Encrypted, ScanLevel.Invalid, "The member is encrypted, so its content cannot be scanned.", memberPath);
                    continue;
                }
                var stop = false;
                context.Guarded(memberPath, () =>
                {
                    // Solid archives share compressed blocks between members: the ratio is judged over the whole archive.
                    using var guarded = new GuardedStream(reader.OpenEntryStream(), context, memberPath, () => archiveLength, priorOutput: decompressed);
                    try
                    {
                        context.Route(guarded, memberPath, entry.Key, depth + 1);
                        // What the router did not read is still decompressed to reach the next member: through the guard.
                        guarded.Drain();
                    }
                    finally
                    {
                        decompressed += guarded.BytesWritten;
                    }
                }, onFailure: e => stop = e is ScanLimitException);
                if (stop)
                {
                    // Moving on would make SharpCompress decompress the rest of the bomb outside the guard.
                    return;
                }
            }
        }
    }
}
