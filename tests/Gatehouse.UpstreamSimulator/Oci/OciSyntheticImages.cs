using System.Collections.Concurrent;
using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.UpstreamSimulator.Synthetic;

namespace Gatehouse.UpstreamSimulator.Oci;

/// <summary>A synthetic image: <paramref name="LayerCount"/> layers of <paramref name="LayerBytes"/> pseudo-random bytes each.</summary>
public sealed record OciSyntheticSpec(string Name, string Tag, int LayerCount, long LayerBytes)
{
    /// <summary>The generator's seed: a function of name and tag, so another tag is another image.</summary>
    public ulong Seed => BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(Name + ":" + Tag)));
}

/// <summary>
/// Big images for benchmarks, made on first request and kept in the data folder: <c>synthetic/layers&lt;K&gt;x&lt;size&gt;</c>
/// (K layers) and <c>synthetic/layer&lt;size&gt;</c> (one), size in decimal k, m or g bytes (<c>synthetic/layers5x100m:1.0</c>,
/// <c>synthetic/layer1g:1.0</c>). Each layer is a tar+gzip whose one member holds the random bytes, gzip-stored (deflate level 0),
/// so writing costs about what hashing does. Layers stream from disk; nothing is held in memory.
/// </summary>
public sealed partial class OciSyntheticImages(string root)
{
    /// <summary>A ustar member's size field holds at most 8 GiB; stay well inside it.</summary>
    public const long MaxLayerBytes = 4_000_000_000;

    public const int MaxLayers = 64;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConcurrentDictionary<OciSyntheticSpec, OciImage> _made = new();

    /// <summary>The spec a repository name and tag ask for, or null when the name is not a synthetic one (or asks too much).</summary>
    public static OciSyntheticSpec? Parse(string name, string reference)
    {
        if (reference.Contains(':', StringComparison.Ordinal) || SyntheticName().Match(name) is not { Success: true } match)
        {
            return null;
        }

        var count = match.Groups["count"].Success ? int.Parse(match.Groups["count"].Value, CultureInfo.InvariantCulture) : 1;
        if (!long.TryParse(match.Groups["size"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            return null;
        }

        var bytes = size * match.Groups["unit"].Value switch
        {
            "k" => 1_000L,
            "m" => 1_000_000L,
            _ => 1_000_000_000L,
        };
        return count is >= 1 and <= MaxLayers && bytes is >= 1 and <= MaxLayerBytes ? new OciSyntheticSpec(name, reference, count, bytes) : null;
    }

    /// <summary>The image, generated to disk on first use (or read back from an earlier run's files).</summary>
    public async Task<OciImage> GetAsync(OciSyntheticSpec spec, CancellationToken cancellationToken)
    {
        if (_made.TryGetValue(spec, out var made))
        {
            return made;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_made.TryGetValue(spec, out made))
            {
                return made;
            }

            var folder = Path.Combine(root, spec.Name.Replace('/', '_') + "_" + spec.Tag + "_" + spec.LayerCount.ToString(CultureInfo.InvariantCulture) + "x"
                + spec.LayerBytes.ToString(CultureInfo.InvariantCulture));
            var index = Path.Combine(folder, "layers.json");
            List<StoredLayer> stored;
            if (File.Exists(index))
            {
                stored = JsonSerializer.Deserialize<List<StoredLayer>>(await File.ReadAllBytesAsync(index, cancellationToken)) ?? [];
            }
            else
            {
                Directory.CreateDirectory(folder);
                stored = [];
                var seed = spec.Seed;
                for (var i = 0; i < spec.LayerCount; i++)
                {
                    stored.Add(await WriteLayerAsync(folder, i, spec.LayerBytes, Xoshiro256StarStar.SplitMix(ref seed), cancellationToken));
                }
                // Written last: an interrupted run leaves no index, and the next one starts over.
                await File.WriteAllBytesAsync(index, JsonSerializer.SerializeToUtf8Bytes(stored), cancellationToken);
            }

            var layers = stored.Select(s => new OciLayer(
                new OciBlob(s.Digest, s.Size, RegistryMediaTypes.OciLayerGzip, FilePath: Path.Combine(folder, s.File)), s.DiffId)).ToList();
            made = OciImageBuilder.Image(spec.Name, [spec.Tag], layers,
                $"synthetic: {spec.LayerCount} gzip-stored layer(s) of {spec.LayerBytes} random bytes");
            _made[spec] = made;
            return made;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static async Task<StoredLayer> WriteLayerAsync(string folder, int index, long bytes, ulong seed, CancellationToken cancellationToken)
    {
        var file = $"layer-{index.ToString(CultureInfo.InvariantCulture)}.tar.gz";
        var temp = Path.Combine(folder, file + ".tmp");
        string digest, diffId;
        long size;
        await using (var output = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
        {
            await using var compressed = new HashingWriteStream(output);
            await using (var gzip = new GZipStream(compressed, CompressionLevel.NoCompression, leaveOpen: true))
            {
                await using var tar = new HashingWriteStream(gzip);
                await using (var writer = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true))
                {
                    var entry = new UstarTarEntry(TarEntryType.RegularFile, $"random/{index.ToString(CultureInfo.InvariantCulture)}.bin")
                    {
                        ModificationTime = OciLayers.ModificationTime,
                        Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                        DataStream = new SeededRandomStream(bytes, seed),
                    };
                    await writer.WriteEntryAsync(entry, cancellationToken);
                }
                diffId = tar.Digest();
            }
            digest = compressed.Digest();
            size = compressed.Written;
        }
        File.Move(temp, Path.Combine(folder, file), overwrite: true);
        return new StoredLayer(file, digest, size, diffId);
    }

    [GeneratedRegex(@"^synthetic/(?:layers(?<count>[0-9]{1,2})x|layer)(?<size>[0-9]{1,10})(?<unit>[kmg])$", RegexOptions.CultureInvariant)]
    private static partial Regex SyntheticName();

    private sealed record StoredLayer(string File, string Digest, long Size, string DiffId);

    /// <summary>Forwards writes and hashes them (sha256), counting bytes.</summary>
    private sealed class HashingWriteStream(Stream inner) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public long Written { get; private set; }

        public string Digest() => "sha256:" + Convert.ToHexStringLower(_hash.GetHashAndReset());

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => Written;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _hash.AppendData(buffer);
            Written += buffer.Length;
            inner.Write(buffer);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _hash.AppendData(buffer.Span);
            Written += buffer.Length;
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _hash.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// <paramref name="length"/> xoshiro256** bytes, read forward once. It reports a length and a position (TarWriter sizes a
    /// member from them) but cannot seek.
    /// </summary>
    private sealed class SeededRandomStream(long length, ulong seed) : Stream
    {
        private Xoshiro256StarStar _random = new(seed);
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => Seek(value, SeekOrigin.Begin);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            // Whole 8-byte words only until the end, so the sequence does not depend on how the reader slices it.
            var n = (int)Math.Min(buffer.Length & ~7, length - _position);
            if (n <= 0)
            {
                n = (int)Math.Min(buffer.Length, length - _position);
            }
            _random.Fill(buffer[..n]);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override long Seek(long offset, SeekOrigin origin)
        {
            var target = origin switch
            {
                SeekOrigin.Current => _position + offset,
                SeekOrigin.End => length + offset,
                _ => offset,
            };
            return target == _position ? _position : throw new NotSupportedException("The synthetic layer's bytes are generated forward only.");
        }

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
