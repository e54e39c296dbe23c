namespace Gatehouse.Scanning.Containers;

/// <summary>
/// Tar archives (ustar, pax, GNU, v7), read forward with <see cref="BoundedTarReader"/>: model bundles such as .nemo and the
/// PyTorch 0.1 checkpoint (members <c>sys_info</c>, <c>pickle</c>, <c>storages</c>, <c>tensors</c>) are tars that
/// their loaders extract or read by name. Every file member is routed by content; names and links are judged as
/// <c>tarfile.extractall</c> would write them, so traversal and escaping links are Dangerous here.
/// </summary>
internal static class TarArchiveReader
{
    /// <summary>"ustar" at offset 257 (POSIX and GNU), or a v7 header whose checksum adds up.</summary>
    public static bool LooksLike(ReadOnlySpan<byte> head)
    {
        if (head.Length < 512)
        {
            return false;
        }
        if (head.Slice(257, 5).SequenceEqual("ustar"u8))
        {
            return true;
        }
        // v7: a name, then an octal checksum over the header with the checksum field read as spaces.
        if (head[0] == 0)
        {
            return false;
        }
        var field = head.Slice(148, 8);
        var digits = field.TrimEnd((byte)' ').TrimEnd((byte)0).TrimStart((byte)' ');
        if (digits.Length == 0)
        {
            return false;
        }
        long stored = 0;
        foreach (var d in digits)
        {
            if (d is < (byte)'0' or > (byte)'7')
            {
                return false;
            }
            stored = stored * 8 + (d - '0');
        }
        long sum = 0;
        for (var i = 0; i < 512; i++)
        {
            sum += i is >= 148 and < 156 ? ' ' : head[i];
        }
        return sum == stored;
    }

    /// <summary>Scans every member; returns "nemo" for a NeMo archive (its model_config.yaml is judged), "tar" otherwise.</summary>
    public static string Scan(ScanContext context, Stream stream, string? path, int depth)
    {
        var format = "tar";
        var names = new ArchiveMemberNames(context, path, extractedAsGiven: true);
        using var reader = new BoundedTarReader(stream, leaveOpen: true);
        while (reader.Next() is { } entry)
        {
            context.ThrowIfCancelled();
            var name = entry.Name;
            var memberPath = ScanContext.Child(path, name);
            if (entry.OversizedHeader is { } oversized)
            {
                // tarfile would load the record whole (torch.load's legacy path, NeMo's restore): not provably safe to open.
                context.Add(BoundedTarReader.OversizedHeaderRule, ScanLevel.Suspicious, $"Before member '{name}', {oversized}.", memberPath);
            }
            switch (entry.Kind)
            {
                case TarMemberKind.Directory:
                    names.Check(name);
                    continue;
                case TarMemberKind.Symlink or TarMemberKind.Hardlink:
                    names.Check(name);
                    names.CheckLink(name, entry.LinkName, hard: entry.Kind == TarMemberKind.Hardlink);
                    continue;
                case TarMemberKind.File when entry.Size == 0:
                    names.Check(name);
                    continue;
                case TarMemberKind.File:
                    names.Check(name);
                    var data = reader.Data;
                    // torch's legacy tar: these two members interleave pickles with raw storage and shape bytes.
                    Action scan = name switch
                    {
                        LegacyTorchTarReader.StoragesMember => () => LegacyTorchTarReader.ScanStorages(context, data, memberPath),
                        LegacyTorchTarReader.TensorsMember => () => LegacyTorchTarReader.ScanTensors(context, data, memberPath),
                        // NeMo's model_config.yaml: its targets are imported and called on restore.
                        _ when NemoReader.IsConfig(name) => () => NemoReader.ScanConfig(context, data, memberPath),
                        _ => () => context.Route(data, memberPath, name, depth + 1),
                    };
                    if (NemoReader.IsConfig(name))
                    {
                        format = "nemo";
                    }
                    context.Guarded(memberPath, scan);
                    continue;
                default:
                    names.CheckSpecial(name, SpecialKind(entry.TypeFlag));
                    continue;
            }
        }
        return format;
    }

    private static string SpecialKind(char type) => type switch
    {
        '3' => "CharacterDevice",
        '4' => "BlockDevice",
        '6' => "Fifo",
        'S' => "SparseFile",
        _ => $"tar entry of type '{(type == 0 ? "\\0" : type.ToString())}'",
    };
}
