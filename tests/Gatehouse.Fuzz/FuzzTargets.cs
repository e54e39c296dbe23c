using Gatehouse.Configuration;
using Gatehouse.Scanning;
using Gatehouse.Scanning.Containers;
using Gatehouse.Scanning.Pickle;
using Gatehouse.Scans.Archives;

namespace Gatehouse.Fuzz;

/// <summary>One fuzzed reader: its name (the corpus folder under tests/fuzz), what it reads, and the run on one input.</summary>
public sealed record FuzzTarget(string Name, string Reads, Action<byte[]> Run);

/// <summary>Thrown when a reader fails on an input in a way it does not document: AFL++ records the input as a crash.</summary>
public sealed class FuzzFaultException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The fuzz targets: each runs the real reader on the bytes and lets through only the reader's documented outcomes. The
/// model scanner reports bad content as findings and never throws, so a finding that says the scanner itself failed
/// (an exception outside the broken-content set of <see cref="ScanContext.IsBrokenContent"/>) is a fault. The archive
/// checks may only throw what their pipeline activities catch. AFL++ (scripts/fuzz.sh) and the corpus replay tests in
/// Gatehouse.Scanning.Tests run this same file.
/// </summary>
public static class FuzzTargets
{
    /// <summary>Rules that mean "the scanner failed", as opposed to "the content is bad".</summary>
    private static readonly HashSet<string> FaultRules = [ContainerRules.ScannerError, PickleRules.ScannerError];

    // A hang is AFL++'s to see (-t 1000): the scanner's own deadline would turn it into a time-limit finding first.
    // Made per input: instrumented code must not run before SharpFuzz has mapped AFL++'s coverage map.
    private static ScanLimits Limits() => new() { MaxDuration = TimeSpan.FromMinutes(1) };

    public static readonly IReadOnlyList<FuzzTarget> All =
    [
        new("pickle", "the pickle machine (PickleScanner) on a raw stream", Pickle),
        new("torch-zip", "a PyTorch zip checkpoint through the model scanner", bytes => Model(bytes, "pytorch_model.bin")),
        new("safetensors", "safetensors through the model scanner", bytes => Model(bytes, "model.safetensors")),
        new("npy", "numpy .npy and .npz through the model scanner", bytes => Model(bytes, "arrays.npy")),
        new("gguf", "GGUF through the model scanner", bytes => Model(bytes, "model.gguf")),
        new("onnx", "ONNX protobuf through the model scanner", bytes => Model(bytes, "model.onnx")),
        new("keras", "Keras .keras zips and HDF5 (.h5) files through the model scanner", bytes => Model(bytes, "model.keras")),
        new("joblib", "joblib pickles, raw or compressed, through the model scanner", bytes => Model(bytes, "model.joblib")),
        new("legacy-torch", "torch.load's legacy tar and pickle paths through the model scanner", bytes => Model(bytes, "model.pt")),
        new("archive", "zip, tar and gzip archives through ArchiveSafety and InstallTimeCode", Archive),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);

    private static void Pickle(byte[] bytes)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        Check(new PickleScanner(Limits()).Scan(stream, "fuzz.pkl"));
    }

    private static void Model(byte[] bytes, string name)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        var report = new ModelScanner(Limits()).ScanAsync(stream, name, CancellationToken.None).GetAwaiter().GetResult();
        Check(report.Findings);
    }

    /// <summary>Throws <see cref="FuzzFaultException"/> when a finding says the scanner itself failed.</summary>
    internal static void Check(IReadOnlyList<ModelFinding> findings)
    {
        if (findings.FirstOrDefault(f => FaultRules.Contains(f.Rule)) is { } fault)
        {
            throw new FuzzFaultException($"{fault.Rule} at {fault.Path ?? "the file"}: {fault.Message}");
        }
    }

    private static void Archive(byte[] bytes)
    {
        using (var stream = new MemoryStream(bytes, writable: false))
        {
            // ArchiveSafety reports an unreadable archive as a finding: nothing may escape it.
            new ArchiveSafety(new ArchiveLimits()).InspectAsync(stream, CancellationToken.None).GetAwaiter().GetResult();
        }
        using (var stream = new MemoryStream(bytes, writable: false))
        {
            try
            {
                InstallTimeCode.InspectAsync(stream, CancellationToken.None).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or NotSupportedException)
            {
                // What InstallTimeCodeActivity catches and reports as "the archive could not be read".
            }
        }
    }
}
