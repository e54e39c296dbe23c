using Gatehouse.Scanning.Pickle;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// The PyTorch legacy tar checkpoint that <c>torch.serialization.legacy_load</c> reads (torch/serialization.py): a tar with
/// members <c>storages</c>, <c>tensors</c> and <c>pickle</c>. <c>storages</c> and <c>tensors</c> interleave pickles with raw
/// bytes, so they are walked the way the loader reads them; <c>pickle</c> is one ordinary pickle.
/// </summary>
internal static class LegacyTorchTarReader
{
    public const string StoragesMember = "storages";
    public const string TensorsMember = "tensors";

    /// <summary>Rule for a member whose layout is not what legacy_load reads.</summary>
    public const string LayoutRule = "torch.legacy-tar-layout";

    // Element sizes of the legacy storage classes (torch._utils._element_size of their dtype).
    private static readonly Dictionary<string, int> ElementSizes = new(StringComparer.Ordinal)
    {
        ["DoubleStorage"] = 8,
        ["FloatStorage"] = 4,
        ["HalfStorage"] = 2,
        ["BFloat16Storage"] = 2,
        ["LongStorage"] = 8,
        ["IntStorage"] = 4,
        ["ShortStorage"] = 2,
        ["CharStorage"] = 1,
        ["ByteStorage"] = 1,
        ["BoolStorage"] = 1,
        ["ComplexDoubleStorage"] = 16,
        ["ComplexFloatStorage"] = 8,
        ["QUInt8Storage"] = 1,
        ["QInt8Storage"] = 1,
        ["QInt32Storage"] = 4,
        ["QUInt4x2Storage"] = 1,
        ["QUInt2x4Storage"] = 1,
    };

    /// <summary>
    /// <c>storages</c>: a count pickle; per storage a <c>(key, location, storage_type)</c> pickle, an int64 element count
    /// and that many elements of raw bytes; then the storage-views pickle. Every pickle is scanned; raw bytes are skipped.
    /// </summary>
    public static void ScanStorages(ScanContext context, Stream member, string path)
    {
        using var session = context.Pickles.Open(member, path, loader: "torch.load (legacy tar)");
        try
        {
            if (ReadCount(session, "storage count") is not { } count)
            {
                return;
            }
            for (long i = 0; i < count; i++)
            {
                var record = session.LoadOne();
                if (record.Status != PickleLoadStatus.Loaded)
                {
                    return;
                }
                var tuple = record.Value.AsTuple;
                var type = tuple.Length == 3 ? tuple[2].AsGlobal : null;
                if (type is null || type.Module != "torch" || !ElementSizes.TryGetValue(type.QualifiedName, out var elementSize))
                {
                    session.Report(LayoutRule, ScanLevel.Invalid, $"Storage record {i} is {record.Value}, not (key, location, <Type>Storage).", record.Start);
                    return;
                }
                var sizeBytes = session.ReadRaw(8);
                if (sizeBytes.Length < 8)
                {
                    session.Report(LayoutRule, ScanLevel.Invalid, $"Storage {i} ends before its element count.", session.Position);
                    return;
                }
                var elements = BitConverter.ToInt64(sizeBytes);
                if (elements < 0 || elements > long.MaxValue / elementSize || session.SkipRaw(elements * elementSize) < elements * elementSize)
                {
                    session.Report(LayoutRule, ScanLevel.Invalid, $"Storage {i} claims {elements} elements of {elementSize} bytes, more than the member holds.", session.Position);
                    return;
                }
            }
            session.LoadOne(); // storage views
            ReportRest(session);
        }
        finally
        {
            context.AddRange(session.Findings);
        }
    }

    /// <summary>
    /// <c>tensors</c>: a count pickle; per tensor a <c>(key, storage_id, type)</c> pickle, then int32 ndim, 4 bytes, ndim
    /// int64 sizes, ndim int64 strides and an int64 storage offset.
    /// </summary>
    public static void ScanTensors(ScanContext context, Stream member, string path)
    {
        using var session = context.Pickles.Open(member, path, loader: "torch.load (legacy tar)");
        try
        {
            if (ReadCount(session, "tensor count") is not { } count)
            {
                return;
            }
            for (long i = 0; i < count; i++)
            {
                if (session.LoadOne().Status != PickleLoadStatus.Loaded)
                {
                    return;
                }
                var header = session.ReadRaw(8);
                var ndim = header.Length == 8 ? BitConverter.ToInt32(header) : -1;
                if (ndim is < 0 or > 64 || session.SkipRaw(16L * ndim + 8) < 16L * ndim + 8)
                {
                    session.Report(LayoutRule, ScanLevel.Invalid, $"Tensor {i} has no valid shape record after its pickle.", session.Position);
                    return;
                }
            }
            ReportRest(session);
        }
        finally
        {
            context.AddRange(session.Findings);
        }
    }

    private static long? ReadCount(PickleSession session, string what)
    {
        var first = session.LoadOne();
        if (first.Status != PickleLoadStatus.Loaded)
        {
            return null;
        }
        if (first.Value.AsInt64 is not (>= 0 and var count))
        {
            session.Report(LayoutRule, ScanLevel.Invalid, $"The {what} is {first.Value}, not a non-negative integer.", first.Start);
            return null;
        }
        return count;
    }

    // legacy_load stops reading here; anything after is never unpickled, so it is inert but worth noting.
    private static void ReportRest(PickleSession session)
    {
        if (!session.IsAtEnd)
        {
            session.ReportTrailingData("bytes after the last record legacy_load reads");
        }
    }
}
