using System.Numerics;
using Gatehouse.Scanning.Pickle;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// Legacy (pre-zip) <c>torch.save</c>: five pickles in a row (magic number, protocol version, sys info, the object,
/// the storage keys) followed by raw storage bytes; the magic pickle must be a bare integer.
/// </summary>
public static class LegacyTorchReader
{
    /// <summary>The magic pickle's value was not the bare integer torch writes (computed by a call, or another value).</summary>
    public const string BadMagicRule = "torch.legacy-bad-magic";
    /// <summary>The protocol-version pickle is not 1001.</summary>
    public const string BadVersionRule = "torch.legacy-bad-version";
    /// <summary>The fifth pickle is not the list of storage keys torch iterates.</summary>
    public const string BadStorageKeysRule = "torch.legacy-bad-storage-keys";

    /// <summary><c>torch.serialization.MAGIC_NUMBER</c>.</summary>
    public static readonly BigInteger MagicNumber = BigInteger.Parse("01950a86a20f9469cfc6c", System.Globalization.NumberStyles.HexNumber);

    /// <summary><c>torch.serialization.PROTOCOL_VERSION</c>.</summary>
    public const int ProtocolVersion = 1001;

    /// <summary>
    /// True when the stream starts like a legacy torch file (a pickle whose first value is an integer, as torch's magic
    /// number is). torch.load sends every non-zip file to its legacy reader and only then compares the magic, so any
    /// integer first is routed here; <see cref="Scan(Stream, string?, PickleScanner)"/> checks the value.
    /// </summary>
    public static bool LooksLike(ReadOnlySpan<byte> head)
    {
        var i = 0;
        if (head.Length >= 2 && head[0] == 0x80)
        {
            i = 2; // PROTO n
        }
        if (head.Length > i + 9 && head[i] == 0x95)
        {
            i += 9; // FRAME n
        }
        // LONG1, LONG4, BININT, BININT1, BININT2, INT, LONG
        return i < head.Length && head[i] is 0x8A or 0x8B or (byte)'J' or (byte)'K' or (byte)'M' or (byte)'I' or (byte)'L';
    }

    /// <summary>Scans exactly the pickles <c>torch.load</c> executes; bytes after the storage keys are inert.</summary>
    public static IReadOnlyList<ModelFinding> Scan(Stream stream, string? path, PickleScanner scanner)
    {
        using var session = scanner.Open(stream, path, loader: "torch.load");
        Scan(session);
        return session.Findings;
    }

    /// <summary>Scans the legacy layout in an open session (for a reader that already owns one).</summary>
    public static void Scan(PickleSession session)
    {
        // 1. The magic number: torch runs this pickle and then compares its value, so a REDUCE here already ran.
        var magic = session.LoadOne();
        if (magic.Status != PickleLoadStatus.Loaded)
        {
            return;
        }
        if (magic.Value.AsBigInteger is not { } magicValue || magicValue != MagicNumber)
        {
            if (magic.Value.Kind != PickleValueKind.Object && session.Reached == 0)
            {
                // torch/serialization.py _legacy_load: "Invalid magic number; corrupt file?" is raised right after this load.
                session.Report(InertContent.Rule, ScanLevel.Safe,
                    $"inert: torch.load would fail: the first pickle is {magic.Value}, not torch's magic number, so _legacy_load raises 'Invalid magic number' before importing or calling anything. What follows is scanned as trailing bytes.",
                    magic.Start);
                session.ScanToEnd();
                return;
            }
            session.Report(BadMagicRule, magic.Value.Kind == PickleValueKind.Object ? ScanLevel.Suspicious : ScanLevel.Invalid,
                magic.Value.Kind == PickleValueKind.Object
                    ? $"The magic-number pickle computes its value with a call ({magic.Value}) instead of holding the integer torch writes."
                    : $"The first pickle is {magic.Value}, not torch's magic number; torch.load raises after running it. The rest is scanned anyway.",
                magic.Start);
        }

        // 2. Protocol version.
        var version = session.LoadOne();
        if (version.Status != PickleLoadStatus.Loaded)
        {
            return;
        }
        if (version.Value.AsInt64 != ProtocolVersion)
        {
            if (version.Value.Kind != PickleValueKind.Object && session.Reached == 0)
            {
                // torch/serialization.py _legacy_load: "Invalid protocol version" is raised right after this load.
                session.Report(InertContent.Rule, ScanLevel.Safe,
                    $"inert: torch.load would fail: the protocol-version pickle is {version.Value}, not {ProtocolVersion}, so _legacy_load raises before importing or calling anything. What follows is scanned as trailing bytes.",
                    version.Start);
                session.ScanToEnd();
                return;
            }
            session.Report(BadVersionRule, version.Value.Kind == PickleValueKind.Object ? ScanLevel.Suspicious : ScanLevel.Invalid,
                $"The protocol-version pickle is {version.Value}, not {ProtocolVersion}.", version.Start);
        }

        // 3. sys_info, 4. the object (storages arrive as persistent ids), 5. the storage keys.
        for (var i = 0; i < 2; i++)
        {
            if (session.LoadOne().Status != PickleLoadStatus.Loaded)
            {
                return;
            }
        }
        var keys = session.LoadOne();
        if (keys.Status != PickleLoadStatus.Loaded)
        {
            return;
        }
        if (keys.Value.Kind != PickleValueKind.List || keys.Value.AsSequence!.KeptItems.Any(k => k.Kind != PickleValueKind.Str))
        {
            session.Report(BadStorageKeysRule, ScanLevel.Invalid,
                $"The fifth pickle is {keys.Value}, not the list of storage keys torch.load iterates.", keys.Start);
        }

        // The storages follow as raw bytes that torch reads without unpickling.
        session.ReportTrailingData("legacy torch storage data");
    }
}
