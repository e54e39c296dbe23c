using System.IO.Compression;
using CsCheck;
using Gatehouse.Scanning.Pickle;

namespace Gatehouse.Scanning.Tests.Fuzz;

/// <summary>
/// Property tests: random and mutated inputs never crash, hang or blow memory in the pickle, zip and safetensors
/// parsers. Each property runs for a bounded time so CI stays fast; a failure is shrunk to a small input.
/// </summary>
public sealed class ParserFuzzTests
{
    private const int Seconds = 4;
    private const long MaxAllocatedPerInput = 256L * 1024 * 1024;
    private static readonly TimeSpan MaxPerInput = TimeSpan.FromSeconds(5);
    private static readonly ScanLimits Limits = new() { MaxDuration = TimeSpan.FromSeconds(4) };

    // Pickle-shaped noise: a protocol header (or none) followed by random opcodes and arguments.
    private static readonly Gen<byte[]> PickleNoise =
        Gen.Select(Gen.Int[0, 6], Gen.Byte.Array[0, 2048], (proto, body) => proto == 6 ? body : [0x80, (byte)proto, .. body]);

    [Fact]
    public void Random_pickle_streams_never_throw_hang_or_allocate_without_bound() =>
        PickleNoise.Sample(bytes => Bounded(() => new PickleScanner(Limits).Scan(new MemoryStream(bytes), "fuzz.pkl")), time: Seconds, threads: 1);

    [Fact]
    public void Mutated_real_pickles_never_throw() =>
        Gen.Select(Gen.Int[0, Seeds.Pickles.Length - 1], Mutation).Sample((seed, mutate) =>
            Bounded(() => new PickleScanner(Limits).Scan(new MemoryStream(mutate(Seeds.Pickles[seed])), "fuzz.pkl")), time: Seconds, threads: 1);

    [Fact]
    public void Mutated_zip_checkpoints_never_throw_through_the_model_scanner() =>
        Mutation.Sample(mutate => Bounded(() => ScanFile(mutate(Seeds.TorchZip), "fuzz.pt")), time: Seconds, threads: 1);

    [Fact]
    public void Mutated_safetensors_never_throw_through_the_model_scanner() =>
        Mutation.Sample(mutate => Bounded(() => ScanFile(mutate(Seeds.Safetensors), "fuzz.safetensors")), time: Seconds, threads: 1);

    [Fact]
    public void Random_bytes_with_any_model_name_get_a_report_not_an_exception() =>
        Gen.Select(Gen.Byte.Array[0, 4096], Gen.OneOf(".bin", ".pt", ".npy", ".npz", ".joblib", ".gguf", ".onnx", ".keras", ".h5", ".safetensors", ".7z"))
            .Sample((bytes, ext) => Bounded(() => ScanFile(bytes, "fuzz" + ext)), time: Seconds, threads: 1);

    private static void ScanFile(byte[] bytes, string name)
    {
        var report = new ModelScanner(Limits).ScanAsync(new MemoryStream(bytes, writable: false), name, CancellationToken.None).GetAwaiter().GetResult();
        Assert.Equal(report.Findings.Count == 0 ? ScanLevel.Safe : report.Findings.Max(f => f.Level), report.Verdict);
    }

    // Runs one input, failing on any exception, on taking too long, or on allocating past the cap.
    private static void Bounded(Action scan)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var started = System.Diagnostics.Stopwatch.StartNew();
        scan();
        Assert.True(started.Elapsed < MaxPerInput, $"one input took {started.Elapsed}");
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < MaxAllocatedPerInput, $"one small input allocated {allocated} bytes");
    }

    private static void Bounded(Func<object> scan) => Bounded(() => { _ = scan(); });

    // A mutation: flip, overwrite with a boundary value, insert, delete, or truncate at a random place.
    private static readonly Gen<Func<byte[], byte[]>> Mutation =
        Gen.Select(Gen.Int[0, 4], Gen.Int[0, int.MaxValue], Gen.Byte, (kind, where, value) => (Func<byte[], byte[]>)(input =>
        {
            if (input.Length == 0)
            {
                return [value];
            }
            var at = where % input.Length;
            var output = input.ToList();
            switch (kind)
            {
                case 0: output[at] ^= (byte)(1 << (value % 8)); break;
                case 1: output[at] = value % 2 == 0 ? (byte)0xFF : (byte)0x00; break;
                case 2: output.Insert(at, value); break;
                case 3: output.RemoveAt(at); break;
                default: output.RemoveRange(at, output.Count - at); break;
            }
            return [.. output];
        }));

    /// <summary>Valid inputs to mutate, built in memory so the properties do not depend on fixture files.</summary>
    private static class Seeds
    {
        public static readonly byte[][] Pickles =
        [
            // {'a': (1, 2.0, 'v')} at protocol 4 (what pickle.dumps writes), with a FRAME.
            Convert.FromHexString("80049519000000000000007d948c0161944b014740000000000000008c0176948794732e"),
            // OrderedDict([('w', [1, 2])]) at protocol 2, as torch state dicts start.
            Convert.FromHexString("800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710158010000007771025d7103284b014b0265732e"),
            // Protocol 0: cos\nsystem\n(S'id'\ntR.
            "cos\nsystem\n(S'id'\ntR."u8.ToArray(),
            // dotted STACK_GLOBAL (pathlib + os.system) of corpus case 8.2-15.
            Convert.FromHexString("80048c07706174686c69628c096f732e73797374656d938c02696485522e"),
        ];

        public static readonly byte[] TorchZip = BuildTorchZip();

        public static readonly byte[] Safetensors = BuildSafetensors();

        private static byte[] BuildTorchZip()
        {
            using var memory = new MemoryStream();
            using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
            {
                Write(zip, "archive/data.pkl", Convert.FromHexString("80027d71002e")); // {} at protocol 2
                Write(zip, "archive/version", "3\n"u8.ToArray());
                Write(zip, "archive/data/0", new byte[64]);
            }
            return memory.ToArray();
        }

        private static void Write(ZipArchive zip, string name, byte[] content)
        {
            using var entry = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
            entry.Write(content);
        }

        private static byte[] BuildSafetensors()
        {
            var header = """{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"license":"https://example.invalid"}}"""u8.ToArray();
            var padded = header.Concat(Enumerable.Repeat((byte)' ', (8 - header.Length % 8) % 8)).ToArray();
            return [.. BitConverter.GetBytes((ulong)padded.Length), .. padded, .. new byte[16]];
        }
    }
}
