using System.IO.Compression;
using Gatehouse.Scanning.Pickle;
using Gatehouse.Scanning.Tests.Containers;
using Gatehouse.Scanning.Tests.Pickle;
using static Gatehouse.Scanning.Tests.Pickle.PickleScanning;

namespace Gatehouse.Scanning.Tests;

/// <summary>
/// Dense pickles (millions of small ints, floats, strings and tuples) are scanned in bounded memory: a few bytes per
/// memo entry and stack value, measured by the scan's own memory accounting, and a per-file budget that fails closed.
/// </summary>
public sealed class DensePickleMemoryTests
{
    private const int Entries = 100_000;

    /// <summary>The bytes one scan of <paramref name="pickle"/> charged to its memory budget.</summary>
    private static long ChargedBytes(byte[] pickle)
    {
        var budget = new MemoryBudget(long.MaxValue);
        var scanner = new PickleScanner(new ScanLimits()) { FileMemory = budget };
        var findings = scanner.Scan(new MemoryStream(pickle), "dense.pkl");
        AssertVerdict(ScanLevel.Safe, findings);
        return budget.Used;
    }

    /// <summary>Bytes per value: the scan of <paramref name="count"/> values minus the scan of none, over <paramref name="count"/>.</summary>
    private static double BytesPerValue(Func<int, byte[]> pickleOf, int count) =>
        (double)(ChargedBytes(pickleOf(count)) - ChargedBytes(pickleOf(0))) / count;

    /// <summary>A list of <paramref name="count"/> values, each memoized the way the pickler memoizes strs and tuples.</summary>
    private static byte[] MemoizedList(int count, Action<PickleAssembler, int> value)
    {
        var p = new PickleAssembler().Proto(4).EmptyList().Memoize();
        for (var start = 0; start < count; start += 1000)
        {
            p.Mark();
            for (var i = start; i < Math.Min(count, start + 1000); i++)
            {
                value(p, i);
                p.Memoize();
            }
            p.Appends();
        }
        return p.Stop().ToArray();
    }

    /// <summary><c>{f'k{i}': (i, float(i), 'v') for i in range(count)}</c> as pickle.dumps writes it at protocol 4.</summary>
    internal static byte[] DenseDict(int count, Action<PickleAssembler, int>? valueAt = null)
    {
        var p = new PickleAssembler().Proto(4).EmptyDict().Memoize();
        for (var start = 0; start < count; start += 1000)
        {
            p.Mark();
            for (var i = start; i < Math.Min(count, start + 1000); i++)
            {
                p.BinUnicode($"k{i}").Memoize();
                if (valueAt is not null)
                {
                    valueAt(p, i);
                    continue;
                }
                p.Int(i).Float(i);
                if (i == 0)
                {
                    p.BinUnicode("v").Memoize();
                }
                else
                {
                    p.BinGet(2);
                }
                p.Tuple3().Memoize();
            }
            p.SetItems();
        }
        return p.Stop().ToArray();
    }

    [Fact]
    public void A_memo_entry_of_plain_data_costs_at_most_32_bytes()
    {
        var perInt = BytesPerValue(n => MemoizedList(n, (p, i) => p.Int(i * 1000)), Entries);
        var perFloat = BytesPerValue(n => MemoizedList(n, (p, i) => p.Float(i + 0.1)), Entries);
        var perShortString = BytesPerValue(n => MemoizedList(n, (p, i) => p.BinUnicode($"k{i}")), Entries);
        var perString = BytesPerValue(n => MemoizedList(n, (p, i) => p.BinUnicode($"layer.{i}.weight")), Entries);
        var perTuple = BytesPerValue(n => MemoizedList(n, (p, i) => p.Int(i).Float(i).BinUnicode("v").Tuple3()), Entries);
        var perDictEntry = BytesPerValue(n => DenseDict(n), Entries) / 2; // a key and a tuple: two memo entries

        Assert.InRange(perInt, 0, 32);
        Assert.InRange(perFloat, 0, 32);
        Assert.InRange(perShortString, 0, 32);
        Assert.InRange(perString, 0, 32);
        Assert.InRange(perTuple, 0, 32);
        Assert.InRange(perDictEntry, 0, 32);
    }

    [Fact]
    public void A_value_on_the_stack_costs_at_most_32_bytes()
    {
        // One MARK holding every value: the stack itself grows, then POP_MARK drops them all.
        static byte[] OnStack(int count, Action<PickleAssembler, int> value)
        {
            var p = new PickleAssembler().Proto(4).Mark();
            for (var i = 0; i < count; i++)
            {
                value(p, i);
            }
            return p.PopMark().None().Stop().ToArray();
        }
        Assert.InRange(BytesPerValue(n => OnStack(n, (p, i) => p.Int(i)), 10_000), 0, 32);
        Assert.InRange(BytesPerValue(n => OnStack(n, (p, i) => p.BinUnicode($"k{i}")), 10_000), 0, 32);
        Assert.InRange(BytesPerValue(n => OnStack(n, (p, i) => p.Int(i).Float(i).Tuple2()), 10_000), 0, 32 + 8); // and the tuple's two 4-byte items
    }

    [Fact]
    public void A_scan_over_its_memory_budget_fails_closed_with_a_finding_that_names_the_budget()
    {
        var pickle = DenseDict(20_000);
        AssertVerdict(ScanLevel.Safe, Scan(pickle));

        var findings = AssertVerdict(ScanLevel.Suspicious, Scan(pickle, new ScanLimits { MaxMemoryBytes = 64 * 1024 }));

        var finding = findings.Single(PickleRules.BudgetExceeded);
        Assert.Equal(ScanLevel.Suspicious, finding.Level);
        Assert.Contains("65,536 bytes", finding.Message, StringComparison.Ordinal);
        Assert.Contains("MaxMemoryBytes", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_budget_is_shared_by_every_pickle_of_one_torch_zip()
    {
        var pickle = DenseDict(20_000);
        var onePickle = ChargedBytes(pickle);
        var limits = new ScanLimits { MaxMemoryBytes = onePickle * 3 / 2 };

        var alone = await TestContent.ScanAsync(TorchZip(("archive/data.pkl", pickle)), "model.pt", limits);
        Assert.Equal(ScanLevel.Safe, alone.Verdict);

        var both = await TestContent.ScanAsync(TorchZip(("archive/data.pkl", pickle), ("archive/extra.pkl", pickle)), "model.pt", limits);
        Assert.True(both.Verdict == ScanLevel.Suspicious, string.Join("\n", both.Findings.Select(f => $"{f.Level} {f.Rule} {f.Path}: {f.Message}")));
        // The first pickle fits; the second finds the budget the first one used.
        Assert.Contains(both.Findings, f => f.Rule == PickleRules.BudgetExceeded && f.Path == "archive/extra.pkl");
        Assert.DoesNotContain(both.Findings, f => f.Path == "archive/data.pkl");
    }

    [Fact]
    public void A_dangerous_call_deep_inside_a_dense_dict_is_still_caught()
    {
        var pickle = DenseDict(200_000, (p, i) =>
        {
            p.Int(i).Float(i);
            if (i == 150_000)
            {
                p.Global("os", "system").BinUnicode("id").Tuple1().Reduce();
            }
            else
            {
                p.None();
            }
            p.Tuple3().Memoize();
        });

        var findings = AssertVerdict(ScanLevel.Dangerous, Scan(pickle));

        Assert.True(findings.Has(PickleRules.DangerousCall, "os.system"));
    }

    [Fact]
    public void A_memoized_tuple_fetched_with_BINGET_is_the_argument_REDUCE_judges()
    {
        // ('echo pwned',) memoized and dropped, then os.system(BINGET 0).
        var pickle = new PickleAssembler().Proto(2).BinUnicode("echo pwned").Tuple1().BinPut(0).Pop()
            .Global("os", "system").BinGet(0).Reduce().Stop().ToArray();

        var findings = AssertVerdict(ScanLevel.Dangerous, Scan(pickle));

        Assert.Contains("os.system", findings.Single(PickleRules.DangerousCall).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Strings_from_the_memo_name_the_global_STACK_GLOBAL_imports()
    {
        var pickle = new PickleAssembler().Proto(4).BinUnicode("os").Memoize().BinUnicode("system").Memoize().Pop().Pop()
            .BinGet(0).BinGet(1).StackGlobal().BinUnicode("id").Tuple1().Reduce().Stop().ToArray();

        Assert.True(AssertVerdict(ScanLevel.Dangerous, Scan(pickle)).Has(PickleRules.DangerousCall, "os.system"));
    }

    [Fact]
    public void Values_come_back_from_the_memo_as_they_went_in()
    {
        var big = System.Numerics.BigInteger.Pow(2, 100);
        // ((1, 0.1, 'ab', 'a string longer than seven bytes', 2**100, None, True, {}),) with the dict updated after memoizing.
        var pickle = new PickleAssembler().Proto(4).Mark().Int(1).Float(0.1).BinUnicode("ab").BinUnicode("a string longer than seven bytes")
            .Long1(big).None().True().EmptyDict().BinPut(9).Tuple().BinPut(0).Pop()
            .BinGet(9).BinUnicode("key").Int(7).SetItem().Pop()
            .BinGet(0).Tuple1().Stop().ToArray();

        using var session = new PickleScanner(new ScanLimits()).Open(new MemoryStream(pickle), "t.pkl");
        var result = session.LoadOne();

        Assert.Equal(PickleLoadStatus.Loaded, result.Status);
        var items = result.Value.AsTuple[0].AsTuple;
        Assert.Equal(8, items.Length);
        Assert.Equal(1, items[0].AsInt64);
        Assert.Equal(0.1, items[1].AsDouble);
        Assert.Equal("ab", items[2].AsString);
        Assert.Equal("a string longer than seven bytes", items[3].AsString);
        Assert.Equal(big, items[4].AsBigInteger);
        Assert.Equal(PickleValueKind.None, items[5].Kind);
        Assert.Equal(1, items[6].AsInt64);
        Assert.True(items[7].AsDict!.TryGet("key", out var value)); // the same dict the memo holds: SETITEM reached it
        Assert.Equal(7, value.AsInt64);
        Assert.Equal("((1, 0.1, 'ab', 'a string longer than seven bytes', 1267650600228229401496703205376, None, …),)", result.Value.ToString());
    }

    private static byte[] TorchZip(params (string Name, byte[] Content)[] pickles)
    {
        using var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in pickles)
            {
                Write(zip, name, content);
            }
            Write(zip, "archive/version", "3\n"u8.ToArray());
        }
        return memory.ToArray();
    }

    private static void Write(ZipArchive zip, string name, byte[] content)
    {
        using var entry = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        entry.Write(content);
    }
}
