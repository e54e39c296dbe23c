using System.Buffers;
using System.IO.Compression;
using Gatehouse.Scanning;
using Gatehouse.Scanning.Containers;
using Gatehouse.Scans;
using ZstdSharp;

namespace Gatehouse.Oci.Layers;

/// <summary>
/// Reads one layer blob (tar, tar+gzip or tar+zstd, told by content, never by media type alone) in one forward walk:
/// every entry's normalised path, the whiteouts, the packages the layer records as installed, and model files through
/// the model scanner. A blob that cannot be read to its end gets <see cref="LayerReport.Error"/> (fail closed).
/// </summary>
public static class LayerInspector
{
    /// <summary>Bumped when what a report holds changes, so stored reports of older inspectors are made again.</summary>
    public const int CurrentVersion = 1;

    /// <summary>The rule of a layer that cannot be read: a broken tar, a truncated or corrupt gzip/zstd stream.</summary>
    public const string UnreadableRule = "layer.unreadable";

    /// <summary>The most entries one layer may hold; a full distribution has some 100 000.</summary>
    public const int MaxEntries = 2_000_000;

    /// <summary>Members up to this size are copied to memory for the scanner; larger ones to a temp file under the budget.</summary>
    public const int InMemoryMemberBytes = 8 * 1024 * 1024;

    private const int Block = 512;
    private const int SniffBytes = 4096;
    private static ReadOnlySpan<byte> ZstdMagic => [0x28, 0xB5, 0x2F, 0xFD];

    /// <summary>Inspects <paramref name="blob"/> (read forward once; it need not seek) whose digest the caller verified.</summary>
    public static async Task<LayerReport> InspectAsync(Stream blob, string digest, ScanBudget? budget, CancellationToken ct)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, budget?.Deadline ?? CancellationToken.None);
        var walk = new LayerWalk(digest, budget, linked.Token);
        var compression = "none";
        try
        {
            var head = new byte[Block];
            var headLength = await blob.ReadAtLeastAsync(head, Block, throwOnEndOfStream: false, linked.Token);
            compression = head.AsSpan(0, headLength) switch
            {
                [0x1f, 0x8b, ..] => "gzip",
                var h when h.StartsWith(ZstdMagic) => "zstd",
                var h when LooksLikeTar(h) => "tar",
                _ => "none",
            };
            if (compression == "none")
            {
                return walk.Report(compression);
            }
            var raw = new SniffedStream(head, headLength, blob);
            await using var content = compression switch
            {
                "gzip" => new GZipStream(raw, CompressionMode.Decompress, leaveOpen: true),
                "zstd" => new DecompressionStream(raw, leaveOpen: true),
                _ => (Stream)raw,
            };
            await walk.RunAsync(content, compression);
        }
        catch (OperationCanceledException) when (budget is { TimedOut: true } && !ct.IsCancellationRequested)
        {
            walk.Fail(budget.TimeExceeded());
        }
        catch (ScanBudgetExceededException e)
        {
            walk.Fail(e.ToFinding());
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or ZstdException or IOException)
        {
            walk.Fail(new Finding(UnreadableRule, Severity.Suspicious, $"The {compression} layer cannot be read to its end: {e.Message}"));
        }
        return walk.Report(compression);
    }

    /// <summary>A tar's first block: the "ustar" magic, a zero block (an empty layer), or a v7 header whose checksum adds up.</summary>
    private static bool LooksLikeTar(ReadOnlySpan<byte> head)
    {
        if (head.Length < Block)
        {
            return false;
        }
        if (head.Slice(257, 5).SequenceEqual("ustar"u8) || !head[..Block].ContainsAnyExcept((byte)0))
        {
            return true;
        }
        var digits = head.Slice(148, 8).Trim(" \0"u8);
        long stored = 0;
        foreach (var d in digits)
        {
            if (d is < (byte)'0' or > (byte)'7')
            {
                return false;
            }
            stored = stored * 8 + (d - '0');
        }
        long sum = 8 * ' ';
        for (var i = 0; i < Block; i++)
        {
            sum += i is >= 148 and < 156 ? 0 : head[i];
        }
        return digits.Length > 0 && stored == sum;
    }

    /// <summary>The state of one walk: what was seen so far, per path so that a later entry at a path replaces an earlier one.</summary>
    private sealed class LayerWalk(string digest, ScanBudget? budget, CancellationToken ct)
    {
        private readonly List<string> _files = [];
        private readonly List<string> _directories = [];
        private readonly List<string> _whiteouts = [];
        private readonly List<string> _opaque = [];
        private readonly Dictionary<string, List<Finding>> _findings = new(StringComparer.Ordinal);
        private readonly Dictionary<string, IReadOnlyList<PackageRecord>> _packages = new(StringComparer.Ordinal);
        private readonly Dictionary<string, OsReleaseRecord> _releases = new(StringComparer.Ordinal);
        private Finding? _failure;
        private string? _failurePath;

        public async Task RunAsync(Stream content, string compression)
        {
            var entries = 0;
            if (compression != "tar")
            {
                // A compressed blob must hold a tar; a gzip'd config or garbage is no layer.
                var probe = new byte[Block];
                var read = await content.ReadAtLeastAsync(probe, Block, throwOnEndOfStream: false, ct);
                if (!LooksLikeTar(probe.AsSpan(0, read)) && read > 0)
                {
                    throw new InvalidDataException($"the {compression} stream holds no tar archive");
                }
                content = new SniffedStream(probe, read, content);
            }
            await using var reader = new BoundedTarReader(content, leaveOpen: true);
            while (await reader.NextAsync(ct) is { } member)
            {
                if (++entries > MaxEntries)
                {
                    throw new InvalidDataException($"the layer holds more than {MaxEntries:N0} entries");
                }
                await VisitAsync(member, reader.Data);
                if (_failure is not null)
                {
                    return;
                }
            }
            // What follows the end marker is padding; reading it to the end is what tells a truncated gzip or zstd stream.
            await DrainAsync(content);
        }

        public void Fail(Finding finding)
        {
            _failure = finding;
            _failurePath ??= finding.Path;
        }

        public LayerReport Report(string compression)
        {
            var findings = _findings.SelectMany(p => p.Value.Select(f => new LayerFinding(p.Key, f))).ToList();
            if (_failure is { } failure)
            {
                findings.Add(new LayerFinding(_failurePath ?? "", failure));
            }
            return new LayerReport(CurrentVersion, digest, compression, _files, _whiteouts, _opaque, findings,
                [.. _packages.Values.SelectMany(p => p)], [.. _releases.Values],
                _failure is null ? null : $"{_failure.Rule}: {_failure.Message}", _directories);
        }

        private async Task VisitAsync(TarMember member, Stream data)
        {
            var path = LayerPaths.Normalize(member.Name);
            if (path.Length == 0)
            {
                return; // the rootfs itself ("./")
            }
            var name = LayerPaths.Name(path);
            if (name.StartsWith(LayerPaths.WhiteoutPrefix, StringComparison.Ordinal))
            {
                var parent = LayerPaths.Parent(path);
                if (name == LayerPaths.OpaqueWhiteout)
                {
                    _opaque.Add(parent);
                }
                else if (!name.StartsWith(LayerPaths.WhiteoutPrefix + LayerPaths.WhiteoutPrefix, StringComparison.Ordinal))
                {
                    // ".wh..wh.*" other than the opaque marker are AUFS's own bookkeeping, not deletions.
                    _whiteouts.Add(LayerPaths.Join(parent, name[LayerPaths.WhiteoutPrefix.Length..]));
                }
                return;
            }
            _files.Add(path);
            // A later entry at the same path is what the runtime leaves there.
            _findings.Remove(path);
            _packages.Remove(path);
            _releases.Remove(path);
            switch (member.Kind)
            {
                case TarMemberKind.Directory:
                    _directories.Add(path);
                    return;
                case TarMemberKind.File:
                    break;
                default:
                    return; // links, devices: a symlink to /usr/bin/x is normal in an image, and a link holds no content
            }
            if (PackageDatabases.Classify(path) is { } record)
            {
                await ReadRecordAsync(record, path, member.Size, data);
                return;
            }
            await ScanIfModelAsync(path, member.Size, data);
        }

        private async Task ReadRecordAsync(RecordFile kind, string path, long size, Stream data)
        {
            var limit = PackageDatabases.Limit(kind);
            if (size > limit && kind is RecordFile.DpkgStatus or RecordFile.ApkInstalled)
            {
                throw new InvalidDataException($"{path} is {size:N0} bytes, more than the {limit:N0} a package database may have");
            }
            // The header's size is a claim: at most the limit is allocated, and only what the stream gives is kept.
            var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(size, limit));
            try
            {
                var read = await data.ReadAtLeastAsync(buffer.AsMemory(0, (int)Math.Min(size, limit)), (int)Math.Min(size, limit), throwOnEndOfStream: false, ct);
                var bytes = buffer.AsSpan(0, read);
                switch (kind)
                {
                    case RecordFile.PythonMetadata when PackageDatabases.PythonMetadata(bytes, path) is { } package:
                        _packages[path] = [package];
                        break;
                    case RecordFile.DpkgStatus:
                        _packages[path] = PackageDatabases.DpkgStatus(bytes, path);
                        break;
                    case RecordFile.ApkInstalled:
                        _packages[path] = PackageDatabases.ApkInstalled(bytes, path);
                        break;
                    case RecordFile.OsRelease when PackageDatabases.OsRelease(bytes, path) is { } release:
                        _releases[path] = release;
                        break;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        private async Task ScanIfModelAsync(string path, long size, Stream data)
        {
            var head = new byte[(int)Math.Min(size, SniffBytes)];
            var headLength = await data.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, ct);
            if (!ModelCandidates.IsCandidate(path, head.AsSpan(0, headLength)))
            {
                return;
            }
            Stream copy;
            long held = 0;
            if (size <= InMemoryMemberBytes)
            {
                copy = new MemoryStream();
            }
            else
            {
                copy = new FileStream(Path.Combine(Path.GetTempPath(), "gatehouse-layer-" + Guid.NewGuid().ToString("N")), FileMode.CreateNew, FileAccess.ReadWrite,
                    FileShare.None, 81_920, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
            }
            try
            {
                await copy.WriteAsync(head.AsMemory(0, headLength), ct);
                var buffer = ArrayPool<byte>.Shared.Rent(81_920);
                try
                {
                    int read;
                    while ((read = await data.ReadAsync(buffer, ct)) > 0)
                    {
                        if (copy is FileStream)
                        {
                            budget?.TakeTemp(read, path);
                            held += read;
                        }
                        await copy.WriteAsync(buffer.AsMemory(0, read), ct);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                copy.Position = 0;
                await ScanAsync(path, copy);
            }
            finally
            {
                await copy.DisposeAsync();
                budget?.ReturnTemp(held);
            }
        }

        private async Task ScanAsync(string path, Stream copy)
        {
            var limits = budget is null ? new ScanLimits() : new ScanLimits
            {
                MaxDuration = budget.CheckTime,
                MaxTempBytes = Math.Max(0, budget.TempBytes - budget.TempInUse),
                MaxMemoryBytes = budget.MemoryBytes,
            };
            var report = await new ModelScanner(limits).ScanAsync(copy, path, ct);
            var findings = ModelContentFindings.From(report).Where(f => f.Severity >= Severity.Suspicious).ToList();
            // The scanner stops at a limit of the budget with a finding; the layer then fails closed: it could not be judged whole.
            if (findings.FirstOrDefault(f => f.Rule is ScanBudget.Rule or ModelCandidates.ScannerTimeLimit) is { } exceeded)
            {
                _failurePath = path;
                Fail(exceeded.Rule == ScanBudget.Rule ? exceeded : budget?.TimeExceeded() ?? exceeded);
            }
            if (findings.Count > 0)
            {
                _findings[path] = findings;
            }
        }

        private async Task DrainAsync(Stream content)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(81_920);
            try
            {
                while (await content.ReadAsync(buffer, ct) > 0)
                {
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>The head already read to tell the format, then the rest of the stream: the content exactly once.</summary>
    private sealed class SniffedStream(byte[] head, int headLength, Stream rest) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_position < headLength)
            {
                var n = Math.Min(buffer.Length, headLength - _position);
                head.AsSpan(_position, n).CopyTo(buffer);
                _position += n;
                return n;
            }
            return rest.Read(buffer);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position < headLength)
            {
                return Read(buffer.Span);
            }
            return await rest.ReadAsync(buffer, cancellationToken);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
