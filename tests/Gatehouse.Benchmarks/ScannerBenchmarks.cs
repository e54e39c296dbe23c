using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Gatehouse.Scanning;
using Gatehouse.Scanning.Pickle;

namespace Gatehouse.Benchmarks;

/// <summary>
/// Issue 3, opcode-dense pickle: the 200,000-entry dict of small tuples (1,400,489 opcodes, 5,358,709 bytes) scanned
/// from a MemoryStream. <see cref="ScannerCommand"/> sets <see cref="Pickle"/> before the in-process run.
/// </summary>
[MemoryDiagnoser]
public class PickleScanBenchmarks
{
    public const string ScanMethod = "PickleScanner.Scan (MemoryStream)";

    public static byte[] Pickle { get; set; } = [];

    private PickleScanner _pickles = null!;
    private ModelScanner _models = null!;

    [GlobalSetup]
    public void Setup()
    {
        if (Pickle.Length == 0)
        {
            throw new InvalidOperationException("PickleScanBenchmarks.Pickle was not set.");
        }
        _pickles = new PickleScanner(new ScanLimits());
        _models = new ModelScanner();
    }

    [Benchmark(Baseline = true, Description = ScanMethod)]
    public int PickleScan() => _pickles.Scan(new MemoryStream(Pickle, writable: false), null).Count;

    [Benchmark(Description = "ModelScanner.ScanAsync (MemoryStream: sniffing, routing, pickle)")]
    public async Task<int> ModelScan()
    {
        using var stream = new MemoryStream(Pickle, writable: false);
        var report = await _models.ScanAsync(stream, "b02-dict-200000.pkl", CancellationToken.None);
        return report.Findings.Count;
    }
}

/// <summary>
/// Issue 3, a 100 MB+ PyTorch checkpoint on disk (page cache warm): sha256 alone, the scan alone, and sha256 then the
/// scan reading the file again, the way the proxy hashes while fetching and scans the staged file afterwards.
/// <see cref="ScannerCommand"/> sets <see cref="CheckpointPath"/> before the in-process run.
/// </summary>
[MemoryDiagnoser]
public class CheckpointScanBenchmarks
{
    public const string HashMethod = "(a) sha256: IncrementalHash over a FileStream, 1 MiB buffer";
    public const string ScanMethod = "(b) ModelScanner.ScanAsync on the file";
    public const string BothMethod = "(c) sha256, then ModelScanner.ScanAsync reading the file again";
    public const int HashBufferSize = 1 << 20;

    public static string CheckpointPath { get; set; } = "";

    private readonly byte[] _buffer = new byte[HashBufferSize];
    private ModelScanner _scanner = null!;

    [GlobalSetup]
    public void Setup()
    {
        if (!File.Exists(CheckpointPath))
        {
            throw new InvalidOperationException($"CheckpointScanBenchmarks.CheckpointPath '{CheckpointPath}' does not exist.");
        }
        _scanner = new ModelScanner();
        Hash(); // pulls the whole file into the page cache
    }

    [Benchmark(Baseline = true, Description = HashMethod)]
    public byte[] Sha256() => Hash();

    [Benchmark(Description = ScanMethod)]
    public Task<FileReport> Scan() => ScanFile(_scanner, CheckpointPath);

    [Benchmark(Description = BothMethod)]
    public async Task<FileReport> HashThenScan()
    {
        Hash();
        return await ScanFile(_scanner, CheckpointPath);
    }

    /// <summary>Opened the way FolderScan (gatehouse scan) opens a file: 64 KiB buffer, sequential scan.</summary>
    public static FileStream OpenForScan(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);

    public static async Task<FileReport> ScanFile(ModelScanner scanner, string path)
    {
        await using var stream = OpenForScan(path);
        return await scanner.ScanAsync(stream, path, CancellationToken.None);
    }

    private byte[] Hash()
    {
        // bufferSize 0: no FileStream buffer under the 1 MiB reads.
        using var file = new FileStream(CheckpointPath, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        int n;
        while ((n = file.Read(_buffer)) > 0)
        {
            hash.AppendData(_buffer.AsSpan(0, n));
        }
        return hash.GetHashAndReset();
    }
}

/// <summary>Counts what passes through a read-only seekable stream: bytes, reads and seeks.</summary>
public sealed class CountingReadStream(Stream inner) : Stream
{
    public long BytesRead { get; private set; }

    public long Reads { get; private set; }

    public long Seeks { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => inner.CanSeek;

    public override bool CanWrite => false;

    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set
        {
            Seeks++;
            inner.Position = value;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Reads++;
        BytesRead += n;
        return n;
    }

    public override int ReadByte()
    {
        var b = inner.ReadByte();
        Reads++;
        BytesRead += b >= 0 ? 1 : 0;
        return b;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Seeks++;
        return inner.Seek(offset, origin);
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
