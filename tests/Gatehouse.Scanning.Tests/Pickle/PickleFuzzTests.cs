using Gatehouse.Scanning.Pickle;
using static Gatehouse.Scanning.Tests.Pickle.PickleAssembler;

namespace Gatehouse.Scanning.Tests.Pickle;

/// <summary>Mutated corpus pickles never crash, hang or escape as exceptions: every outcome is a verdict.</summary>
public sealed class PickleFuzzTests
{
    private static IEnumerable<byte[]> Seeds()
    {
        yield return BenignPickleTests.StateDictPickle();
        yield return BenignPickleTests.ObjectArrayPickle("numpy.core.multiarray");
        yield return Hex("80048c07706174686c69628c096f732e73797374656d938c02696485522e");
        yield return Hex("80048c026f739468009430308c0673797374656d943068016802938c02696485522e");
        yield return Latin1("Vos\np2\n0Vsystem\np3\n0Vtorch\np0\n0VLongStorage\np1\n0g2\ng3\n\x93(Vcat flag.txt\ntR.");
        yield return Latin1("c__builtin__\n__import__\n(S'os'\ntRp0\n0c__builtin__\ngetattr\n(g0\nS'system'\ntRp1\n0g1\n(S'id'\ntR.");
        yield return SyntheticPickles.LargeDict(300).Bytes;
    }

    [Fact]
    public void Ten_thousand_mutated_pickles_each_get_a_verdict_without_an_exception()
    {
        var random = new Random(20260301);
        var scanner = new PickleScanner(new ScanLimits { MaxDuration = TimeSpan.FromSeconds(5) });
        var seeds = Seeds().ToArray();
        for (var i = 0; i < 10_000; i++)
        {
            var data = seeds[random.Next(seeds.Length)].ToList();
            var edits = random.Next(1, 6);
            for (var e = 0; e < edits && data.Count > 0; e++)
            {
                var at = random.Next(data.Count);
                switch (random.Next(5))
                {
                    case 0: data[at] = (byte)random.Next(256); break;
                    case 1: data.RemoveAt(at); break;
                    case 2: data.Insert(at, (byte)random.Next(256)); break;
                    case 3: data.RemoveRange(at, data.Count - at); break;
                    default:
                        var from = random.Next(data.Count);
                        data.InsertRange(at, data.GetRange(from, Math.Min(16, data.Count - from)));
                        break;
                }
            }
            var findings = scanner.Scan(new MemoryStream(data.ToArray()), "fuzz.pkl");
            Assert.DoesNotContain(findings, f => f.Rule == PickleRules.ScannerError);
        }
    }

    [Fact]
    public void Random_bytes_get_a_verdict_without_an_exception()
    {
        var random = new Random(42);
        var scanner = new PickleScanner(new ScanLimits());
        for (var i = 0; i < 2_000; i++)
        {
            var data = new byte[random.Next(1, 400)];
            random.NextBytes(data);
            data[0] = 0x80;
            var findings = scanner.Scan(new MemoryStream(data), null);
            Assert.DoesNotContain(findings, f => f.Rule == PickleRules.ScannerError);
        }
    }
}
