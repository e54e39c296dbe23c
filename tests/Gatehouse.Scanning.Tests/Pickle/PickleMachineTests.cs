using System.Numerics;
using Gatehouse.Scanning.Pickle;
using static Gatehouse.Scanning.Tests.Pickle.PickleAssembler;
using static Gatehouse.Scanning.Tests.Pickle.PickleScanning;

namespace Gatehouse.Scanning.Tests.Pickle;

/// <summary>The machine mirrors CPython's unpickler: values, stack, memo, framing, errors and limits.</summary>
public sealed class PickleMachineTests
{
    private static PickleValue Load(byte[] pickle, out PickleLoadStatus status)
    {
        using var session = new PickleScanner(new ScanLimits()).Open(new MemoryStream(pickle), "t.pkl");
        var result = session.LoadOne();
        status = result.Status;
        return result.Value;
    }

    private static PickleValue Load(byte[] pickle)
    {
        var value = Load(pickle, out var status);
        Assert.Equal(PickleLoadStatus.Loaded, status);
        return value;
    }

    [Fact]
    public void Protocol_0_text_arguments_are_read_the_way_CPython_reads_them()
    {
        Assert.Equal(42, Load(Latin1("I42\n.")).AsInt64);
        Assert.Equal(PickleValueKind.Bool, Load(Latin1("I01\n.")).Kind);
        Assert.Equal(255, Load(Latin1("I0xff\n.")).AsInt64);
        Assert.Equal(BigInteger.Parse("123456789012345678901234567890"), Load(Latin1("L123456789012345678901234567890L\n.")).AsBigInteger);
        Assert.Equal(1.5, Load(Latin1("F1.5\n.")).AsDouble);
        Assert.Equal("aA\n'", Load(Latin1("S'a\\x41\\n\\''\n.")).AsString);
        Assert.Equal("A\u00e9", Load(Latin1("V\\u0041\xe9\n.")).AsString);
        Assert.Equal(7, Load(Latin1("I7\np3\n0g3\n.")).AsInt64);
    }

    [Fact]
    public void Binary_integers_floats_and_longs_are_exact()
    {
        Assert.Equal(-2, Load(new PickleAssembler().Proto(2).Int(-2).Stop().ToArray()).AsInt64);
        Assert.Equal(65535, Load(new PickleAssembler().Proto(2).Int(65535).Stop().ToArray()).AsInt64);
        var magic = BigInteger.Parse("01950a86a20f9469cfc6c", System.Globalization.NumberStyles.HexNumber);
        Assert.Equal(magic, Load(new PickleAssembler().Proto(2).Long1(magic).Stop().ToArray()).AsBigInteger);
        Assert.Equal(-0.25, Load(new PickleAssembler().Proto(2).Float(-0.25).Stop().ToArray()).AsDouble);
    }

    [Fact]
    public void Containers_are_built_from_the_stack_and_mark()
    {
        var value = Load(new PickleAssembler().Proto(2).Mark().Int(1).Unicode("a").Tuple().Stop().ToArray());
        Assert.Equal(2, value.AsTuple.Length);
        Assert.Equal("a", value.AsTuple[1].AsString);

        var dict = Load(new PickleAssembler().Proto(2).EmptyDict().Mark().Unicode("k").Int(1).Unicode("j").Int(2).SetItems().Stop().ToArray());
        Assert.Equal(2, dict.AsDict!.Count);
        Assert.True(dict.AsDict.TryGet("j", out var j));
        Assert.Equal(2, j.AsInt64);
    }

    [Fact]
    public void The_memo_stores_the_object_itself_so_later_mutations_are_shared()
    {
        var value = Load(new PickleAssembler().Proto(4).EmptyList().Memoize().Pop().BinGet(0).Int(1).Append().Pop().BinGet(0).Stop().ToArray());
        Assert.Equal(1, value.AsSequence!.Count);
    }

    [Fact]
    public void MEMOIZE_uses_the_number_of_memo_entries_not_the_highest_key()
    {
        var pickle = new PickleAssembler().Proto(4).Unicode("five").BinPut(5).Pop().Unicode("one").Memoize().Pop().BinGet(1).Stop().ToArray();
        Assert.Equal("one", Load(pickle).AsString);
    }

    [Fact]
    public void A_sparse_memo_key_does_not_allocate_a_dense_table()
    {
        var pickle = new PickleAssembler().Proto(2).Unicode("x").LongBinPut(0xFFFF_FFF0).Pop().LongBinGet(0xFFFF_FFF0).Stop().ToArray();
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal("x", Load(pickle).AsString);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 * 1024 * 1024);
    }

    [Fact]
    public void A_missing_memo_key_before_any_import_is_inert()
    {
        AssertInert(new PickleAssembler().Proto(2).BinGet(3).Stop().ToArray(), "Memo");
    }

    [Fact]
    public void A_missing_memo_key_after_an_import_is_malformed()
    {
        Assert.True(AssertVerdict(ScanLevel.Invalid, new PickleAssembler().Proto(2).Global("collections", "OrderedDict").BinGet(3).Stop().ToArray())
            .Has(PickleRules.Malformed));
    }

    [Fact]
    public void Stack_underflow_and_unknown_opcodes_before_any_import_are_inert()
    {
        AssertInert(new PickleAssembler().Proto(2).Reduce().Stop().ToArray(), "underflow");
        AssertInert(new PickleAssembler().Proto(2).Int(1).Mark().Pop().Pop().Tuple1().Stop().ToArray(), "underflow");
        AssertInert(Hex("8002ff2e"), "invalid load key 0xff");
    }

    [Fact]
    public void Stack_underflow_and_unknown_opcodes_after_an_import_are_malformed()
    {
        Assert.True(AssertVerdict(ScanLevel.Invalid, new PickleAssembler().Proto(2).Global("collections", "OrderedDict").Reduce().Stop().ToArray())
            .Has(PickleRules.Malformed));
        Assert.True(AssertVerdict(ScanLevel.Invalid, new PickleAssembler().Proto(2).Global("collections", "OrderedDict").Op(0xFF).Stop().ToArray()).Has(PickleRules.Malformed));
    }

    [Fact]
    public void A_text_argument_the_scanner_cannot_parse_is_never_taken_for_proof_that_the_loader_stops()
    {
        // CPython's float() is not mirrored byte for byte: a FLOAT line made only of characters some float spelling
        // uses is not proof that the loader stops (Invalid), one with a character none uses is (inert).
        Assert.True(AssertVerdict(ScanLevel.Invalid, Latin1("F1e5e5\n.")).Has(PickleRules.Malformed));
        AssertInert(Latin1("I0x1g\n."), "INT");
        AssertInert(Latin1("Fnot a number\n."), "FLOAT");
        AssertInert(Latin1("p\n."), "PUT");
    }

    [Fact]
    public void A_stream_without_STOP_or_without_data_before_any_import_is_inert()
    {
        AssertInert(new PickleAssembler().Proto(2).EmptyDict().ToArray(), "Truncated");
        AssertInert(Array.Empty<byte>(), "no pickle data");
    }

    [Fact]
    public void A_stream_that_ends_after_an_import_is_truncated()
    {
        Assert.True(AssertVerdict(ScanLevel.Dangerous, Latin1("cos\nsystem\n")).Has(PickleRules.Truncated));
        Assert.True(AssertVerdict(ScanLevel.Invalid, new PickleAssembler().Proto(2).Global("collections", "OrderedDict").ToArray()).Has(PickleRules.Truncated));
    }

    [Fact]
    public void A_stream_that_ends_inside_an_import_line_is_inert()
    {
        // The GLOBAL's name line never ends, so find_class is never called.
        AssertInert(Latin1("cos\nsyst"), "Truncated");
    }

    private static void AssertInert(byte[] pickle, string reason)
    {
        var finding = Assert.Single(AssertVerdict(ScanLevel.Safe, pickle));
        Assert.Equal(InertContent.Rule, finding.Rule);
        Assert.StartsWith("inert: ", finding.Message, StringComparison.Ordinal);
        Assert.Contains("before importing or calling anything", finding.Message, StringComparison.Ordinal);
        Assert.Contains(reason, finding.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void LoadOne_stops_right_after_STOP_and_gives_read_ahead_back_to_a_seekable_stream()
    {
        var first = new PickleAssembler().Proto(2).Int(1).Stop().ToArray();
        var stream = new MemoryStream([.. first, .. Latin1("tail")]);
        using (var session = new PickleScanner(new ScanLimits()).Open(stream, null))
        {
            var result = session.LoadOne();
            Assert.Equal(first.Length, result.End);
            Assert.Equal(first.Length, session.Position);
        }
        Assert.Equal(first.Length, stream.Position);
    }

    [Fact]
    public void The_scanner_loads_one_pickle_for_a_container_and_leaves_a_seekable_stream_after_its_STOP()
    {
        var first = new PickleAssembler().Proto(2).Global("os", "system").Stop().ToArray();
        var stream = new MemoryStream([.. first, .. new byte[100]]);
        var result = new PickleScanner(new ScanLimits()).LoadOne(stream, "x", out var findings);
        Assert.Equal(PickleLoadStatus.Loaded, result.Status);
        Assert.Equal("os.system", result.Value.AsGlobal!.Name);
        Assert.Equal(first.Length, stream.Position);
        Assert.Equal(ScanLevel.Dangerous, findings.Verdict());
    }

    [Fact]
    public void Findings_carry_offset_resolved_global_call_site_and_path()
    {
        var pickle = new PickleAssembler().Proto(2).None().Pop().Global("posix", "system").BinUnicode("id").Tuple1().Reduce().Stop().ToArray();
        var findings = new PickleScanner(new ScanLimits()).Scan(new MemoryStream(pickle), "archive/data.pkl");
        var import = findings.Single(PickleRules.DangerousGlobal);
        Assert.Equal(4, import.Offset);
        Assert.Equal("posix.system", import.Global);
        Assert.Equal("GLOBAL", import.CallSite);
        Assert.Equal("archive/data.pkl", import.Path);
        var call = findings.Single(PickleRules.DangerousCall);
        Assert.Equal("REDUCE", call.CallSite);
        Assert.Equal(pickle.Length - 2, call.Offset);
    }

    [Fact]
    public void The_same_finding_repeated_is_reported_once_with_a_count()
    {
        var pickle = new PickleAssembler().Proto(2);
        for (var i = 0; i < 500; i++)
        {
            pickle.Global("mypackage", "Layer").Pop();
        }
        var findings = AssertVerdict(ScanLevel.Suspicious, pickle.None().Stop().ToArray());
        Assert.Contains("(500 occurrences)", Assert.Single(findings).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BUILD_on_a_class_even_an_allow_listed_one_is_dangerous()
    {
        var pickle = new PickleAssembler().Proto(2).Global("collections", "OrderedDict").EmptyDict().Unicode("__reduce__").None().SetItem().Build().Stop().ToArray();
        Assert.True(AssertVerdict(ScanLevel.Dangerous, pickle).Has(PickleRules.BuildOnGlobal, "collections.OrderedDict"));
    }

    [Fact]
    public void Mutating_a_class_through_SETITEM_or_APPEND_is_suspicious()
    {
        var pickle = new PickleAssembler().Proto(2).Global("collections", "OrderedDict").Unicode("k").Int(1).SetItem().Int(2).Append().Stop().ToArray();
        var findings = AssertVerdict(ScanLevel.Suspicious, pickle);
        Assert.True(findings.Has(PickleRules.MutatesGlobal));
    }

    [Fact]
    public void Calling_something_that_is_not_callable_is_invalid()
    {
        Assert.True(AssertVerdict(ScanLevel.Invalid, new PickleAssembler().Proto(2).Int(1).EmptyTuple().Reduce().Stop().ToArray()).Has(PickleRules.NotCallable));
    }

    [Fact]
    public void Calling_the_result_of_an_allowed_call_is_suspicious()
    {
        var pickle = new PickleAssembler().Proto(2).Global("collections", "OrderedDict").EmptyTuple().Reduce().EmptyTuple().Reduce().Stop().ToArray();
        Assert.True(AssertVerdict(ScanLevel.Suspicious, pickle).Has(PickleRules.CallOnObject));
    }

    [Fact]
    public void BUILD_state_that_plants_an_instance_level_setstate_is_dangerous()
    {
        var pickle = new PickleAssembler().Proto(4)
            .StackGlobal("argparse", "Namespace").EmptyTuple().NewObj()
            .EmptyDict().Unicode("__setstate__").StackGlobal("torch.storage", "_load_from_bytes").SetItem().Build()
            .Bytes("PK\u0003\u0004 archive nobody scans"u8).Build()
            .Stop().ToArray();
        Assert.True(AssertVerdict(ScanLevel.Dangerous, pickle).Has(PickleRules.DunderState, "torch.storage._load_from_bytes"));
    }

    [Fact]
    public void Codecs_encode_with_a_codec_other_than_latin1_is_suspicious()
    {
        var pickle = new PickleAssembler().Proto(2).Global("_codecs", "encode").BinUnicode("abc").BinUnicode("some.codec").Tuple2().Reduce().Stop().ToArray();
        Assert.True(AssertVerdict(ScanLevel.Suspicious, pickle).Has(PickleRules.UnexpectedCall));
    }

    [Fact]
    public void STOP_inside_an_unfinished_frame_is_suspicious_because_loaders_disagree_on_where_the_next_pickle_starts()
    {
        var pickle = new PickleAssembler().Proto(4).Frame(10).None().Stop().Raw(new byte[8]).ToArray();
        Assert.True(Scan(pickle).Has(PickleRules.FrameOverrun));
    }

    [Fact]
    public void Persistent_ids_are_inert_for_the_machine()
    {
        Assert.Empty(AssertVerdict(ScanLevel.Safe, Latin1("P0\nP1\n\x86.")));
    }

    [Fact]
    public void Out_of_band_buffers_are_invalid_for_torch_and_joblib()
    {
        Assert.True(AssertVerdict(ScanLevel.Invalid, new PickleAssembler().Proto(5).Op(0x97).Op(0x98).Stop().ToArray()).Has(PickleRules.OutOfBandBuffer));
    }

    [Fact]
    public void A_frame_opened_inside_an_unfinished_frame_is_invalid()
    {
        var pickle = new PickleAssembler().Proto(4).Frame(20).None().Frame(5).Pop().None().Stop().ToArray();
        Assert.True(AssertVerdict(ScanLevel.Invalid, pickle).Has(PickleRules.FrameOverrun));
    }

    [Fact]
    public void A_frame_claiming_more_than_the_stream_holds_is_truncated_and_its_content_still_scanned()
    {
        var body = new PickleAssembler().Global("os", "system").Pop().ToArray();
        var findings = AssertVerdict(ScanLevel.Dangerous, new PickleAssembler().Proto(4).Frame(1_000_000).Raw(body).ToArray());
        Assert.True(findings.Has(PickleRules.Truncated));
    }

    [Fact]
    public void Pickles_nested_deeper_than_the_limit_are_reported_not_followed()
    {
        var pickle = CallPickle("os", "system", "id");
        for (var i = 0; i < 8; i++)
        {
            pickle = new PickleAssembler().Proto(4).Bytes(pickle).Pop().None().Stop().ToArray();
        }
        var findings = Scan(pickle, new ScanLimits { MaxNestingDepth = 3 });
        Assert.True(findings.Has(PickleRules.LimitNesting));
        Assert.Equal(ScanLevel.Suspicious, findings.Verdict());
        AssertVerdict(ScanLevel.Dangerous, pickle, new ScanLimits { MaxNestingDepth = 10 });
    }

    [Fact]
    public void Bytes_that_merely_look_like_a_pickle_do_not_make_a_clean_file_invalid()
    {
        var pickle = new PickleAssembler().Proto(4).Bytes(Latin1("c-not really\nanything. (\x93 ")).Pop().None().Stop().ToArray();
        Assert.Empty(AssertVerdict(ScanLevel.Safe, pickle));
    }

    [Fact]
    public void A_stream_that_fails_while_reading_is_invalid()
    {
        var findings = new PickleScanner(new ScanLimits()).Scan(new FailingStream(new PickleAssembler().Proto(2).EmptyDict().ToArray()), null);
        AssertVerdict(ScanLevel.Invalid, findings);
        Assert.True(findings.Has(PickleRules.ReadError));
    }

    [Fact]
    public void Every_opcode_of_protocols_0_to_5_is_understood()
    {
        var pickle = new PickleAssembler().Proto(5).Frame(0)
            .Mark()
            .None().True().False().Int(1).Int(300).Int(70000).Long1(new BigInteger(1) << 70).TextInt("5")
            .Op((byte)'L').Raw("9L\n").Op(0x8B).Raw([1, 0, 0, 0, 7])
            .Float(1).Op((byte)'F').Raw("2.5\n")
            .String("s").Op((byte)'T').Raw([1, 0, 0, 0, (byte)'t']).ShortBinString("u").TextUnicode("v").BinUnicode("x").Unicode("y")
            .BinUnicode8(1, "z"u8).Bytes("b"u8).Bytes(new byte[300]).BinBytes8(1, "c"u8).Op(0x96).Raw([1, 0, 0, 0, 0, 0, 0, 0, 9])
            .EmptyTuple().Int(1).Tuple1().Int(1).Int(2).Tuple2().Int(1).Int(2).Int(3).Tuple3()
            .EmptyList().Int(1).Append().EmptyList().Mark().Int(1).Appends().Mark().List()
            .EmptyDict().Int(1).Int(2).SetItem().Mark().Dict()
            .EmptySet().Mark().Int(1).AddItems().Mark().Int(1).Op(0x91)
            .Int(1).Dup().Pop().Mark().PopMark()
            .Int(5).Put(10).Get(10).BinPut(11).BinGet(11).LongBinPut(12).LongBinGet(12).Memoize()
            .Op((byte)'P').Raw("pid\n").Int(1).BinPersId()
            .Global("collections", "OrderedDict").EmptyTuple().Reduce().EmptyDict().Build()
            .StackGlobal("collections", "OrderedDict").EmptyTuple().NewObj()
            .StackGlobal("collections", "OrderedDict").EmptyTuple().EmptyDict().NewObjEx()
            .Mark().Inst("collections", "OrderedDict")
            .Mark().Global("collections", "OrderedDict").Obj()
            .Tuple().Stop().ToArray();
        Assert.Empty(AssertVerdict(ScanLevel.Safe, pickle));
    }

    private sealed class FailingStream(byte[] head) : Stream
    {
        private int _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_read >= head.Length)
            {
                throw new IOException("disk on fire");
            }
            var n = Math.Min(count, head.Length - _read);
            Array.Copy(head, _read, buffer, offset, n);
            _read += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
