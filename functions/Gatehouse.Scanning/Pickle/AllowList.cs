namespace Gatehouse.Scanning.Pickle;

/// <summary>How an allow-listed global may be used without a finding.</summary>
internal enum AllowedUse
{
    /// <summary>May be called (REDUCE, INST/OBJ with arguments) or instantiated.</summary>
    Call,
    /// <summary>May only be instantiated without <c>__init__</c> (NEWOBJ, <c>copyreg._reconstructor</c>) and BUILT:
    /// its <c>__init__</c>/<c>__post_init__</c> has side effects the pickle never needs.</summary>
    New,
    /// <summary>A constant (a dtype, a quantization scheme): referenced, never called.</summary>
    Value,
    /// <summary>Loads its bytes argument as a nested checkpoint: safe only when those bytes are scanned and clean.</summary>
    NestedLoad,
}

internal sealed record AllowEntry(string Pattern, AllowedUse Use, string Reason);

/// <summary>
/// Globals that ordinary ML checkpoints need and that are inert at load time: PyTorch's <c>weights_only</c> set
/// (<c>torch/_weights_only_unpickler.py</c>) plus the numpy, scikit-learn and training-state types that fickling's
/// <c>ML_ALLOWLIST</c> (<c>fickling/ml.py</c>) and ModelAudit's <c>ML_SAFE_GLOBALS</c> also accept. Checked before the
/// deny-list. Patterns: <c>module:name</c> exact; <c>module.*:name</c> the module or any submodule; <c>&lt;Class&gt;</c>
/// any CamelCase class name (no dots). Everything else is at least Suspicious.
/// </summary>
internal static class AllowList
{
    public static readonly IReadOnlyList<AllowEntry> Entries = Build();

    private static List<AllowEntry> Build()
    {
        var list = new List<AllowEntry>();
        void Add(string pattern, AllowedUse use, string reason) => list.Add(new(pattern, use, reason));
        void AddNames(string module, AllowedUse use, string reason, params string[] names)
        {
            foreach (var name in names)
            {
                list.Add(new($"{module}:{name}", use, reason));
            }
        }

        // ---- PyTorch weights_only (torch/_weights_only_unpickler.py _get_allowed_globals) ----
        Add("collections:OrderedDict", AllowedUse.Call, "the dict type of every state_dict (weights_only)");
        Add("collections:Counter", AllowedUse.Call, "dict subclass (weights_only)");
        Add("torch.nn.parameter:Parameter", AllowedUse.Call, "wraps a tensor as a parameter (weights_only)");
        Add("torch.serialization:_get_layout", AllowedUse.Call, "maps a layout name to torch.layout (weights_only)");
        Add("torch:Size", AllowedUse.Call, "tuple subclass for shapes (weights_only)");
        Add("torch:Tensor", AllowedUse.Call, "the tensor type (weights_only)");
        Add("torch:device", AllowedUse.Call, "a device name such as 'cpu' (weights_only)");
        Add("_codecs:encode", AllowedUse.Call, "how protocol-2 pickles carry bytes: encode(str, 'latin1') (weights_only)");
        Add("builtins:bytearray", AllowedUse.Call, "builtin value type (weights_only)");
        Add("builtins:set", AllowedUse.Call, "builtin value type (weights_only)");
        Add("builtins:complex", AllowedUse.Call, "builtin value type (weights_only)");
        AddNames("torch", AllowedUse.Value, "a torch dtype, pickled by name (weights_only)",
            "float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
            "complex128", "complex64", "complex32", "qint8", "qint32", "quint8", "quint4x2", "quint2x4",
            "float8_e5m2", "float8_e4m3fn", "float8_e5m2fnuz", "float8_e4m3fnuz", "float8_e8m0fnu",
            "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2", "uint16", "uint32", "uint64",
            "uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7",
            "int1", "int2", "int3", "int4", "int5", "int6", "int7");
        string[] tensorTypes =
        [
            "DoubleTensor", "FloatTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor", "ShortTensor",
            "CharTensor", "ByteTensor", "BoolTensor", "ComplexDoubleTensor", "ComplexFloatTensor",
        ];
        AddNames("torch", AllowedUse.Call, "a legacy tensor class (weights_only _tensor_classes)", tensorTypes);
        AddNames("torch.cuda", AllowedUse.Call, "a legacy CUDA tensor class (weights_only _tensor_classes)", tensorTypes);
        string[] storageTypes =
        [
            "DoubleStorage", "FloatStorage", "HalfStorage", "LongStorage", "IntStorage", "ShortStorage", "CharStorage",
            "ByteStorage", "BoolStorage", "BFloat16Storage", "ComplexDoubleStorage", "ComplexFloatStorage",
        ];
        AddNames("torch", AllowedUse.Call, "a legacy storage class named in persistent ids (weights_only _storage_classes)", storageTypes);
        AddNames("torch", AllowedUse.Call, "a quantized storage class (weights_only _storage_classes)",
            "QInt8Storage", "QInt32Storage", "QUInt8Storage", "QUInt4x2Storage", "QUInt2x4Storage");
        AddNames("torch.cuda", AllowedUse.Call, "a legacy CUDA storage class (weights_only _storage_classes)", storageTypes);
        AddNames("torch.storage", AllowedUse.Call, "the storage classes (weights_only _storage_classes)", "TypedStorage", "UntypedStorage");
        AddNames("torch", AllowedUse.Call, "the storage classes as re-exported by torch (weights_only _storage_classes)", "TypedStorage", "UntypedStorage");
        AddNames("torch", AllowedUse.Value, "a quantization scheme, pickled by name (weights_only)",
            "per_tensor_affine", "per_tensor_symmetric", "per_channel_affine", "per_channel_symmetric", "per_channel_affine_float_qparams");
        AddNames("torch._utils", AllowedUse.Call, "rebuilds a tensor from a storage and its metadata (weights_only)",
            "_rebuild_parameter", "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_tensor", "_rebuild_tensor_v2",
            "_rebuild_tensor_v3", "_rebuild_sparse_tensor", "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass",
            "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor");
        Add("torch._tensor:_rebuild_from_type_v2", AllowedUse.Call,
            "rebuilds a tensor subclass by calling its first argument, which is itself a judged global (weights_only)");
        Add("torch.storage:_load_from_bytes", AllowedUse.NestedLoad,
            "torch.load of its bytes argument: what plain pickle.dumps(tensor) writes; safe only if those bytes scan clean (B7)");

        // ---- numpy (object .npy bodies, arrays inside sklearn/joblib pickles) ----
        AddNames("numpy.core.multiarray", AllowedUse.Call, "ndarray.__reduce__ rebuilds arrays with it (numpy 1.x spelling)", "_reconstruct", "scalar");
        AddNames("numpy._core.multiarray", AllowedUse.Call, "ndarray.__reduce__ rebuilds arrays with it (numpy 2.x spelling)", "_reconstruct", "scalar");
        AddNames("numpy.core.numeric", AllowedUse.Call, "rebuilds an array from a buffer (protocol 5, numpy 1.x)", "_frombuffer");
        AddNames("numpy._core.numeric", AllowedUse.Call, "rebuilds an array from a buffer (protocol 5, numpy 2.x)", "_frombuffer");
        AddNames("numpy", AllowedUse.Call, "numpy's array, dtype and scalar types",
            "ndarray", "dtype", "matrix", "float64", "float32", "float16", "longdouble", "int64", "int32", "int16", "int8",
            "uint64", "uint32", "uint16", "uint8", "bool_", "complex64", "complex128", "str_", "bytes_", "void",
            "datetime64", "timedelta64");
        Add("numpy.dtypes:<Class>", AllowedUse.Call, "numpy 2 dtype classes (Float64DType …)");
        AddNames("numpy.ma.core", AllowedUse.Call, "masked arrays rebuild through these", "MaskedArray", "_mareconstruct");
        AddNames("numpy.random._pickle", AllowedUse.Call, "rebuilds RNG state from numpy's own bit-generator table",
            "__randomstate_ctor", "__generator_ctor", "__bit_generator_ctor");
        AddNames("numpy.random.mtrand", AllowedUse.Call, "RNG state in sklearn estimators", "RandomState");
        AddNames("numpy.random._mt19937", AllowedUse.Call, "bit generator state", "MT19937");
        AddNames("numpy.random._pcg64", AllowedUse.Call, "bit generator state", "PCG64", "PCG64DXSM");
        AddNames("numpy.random._philox", AllowedUse.Call, "bit generator state", "Philox");
        AddNames("numpy.random._sfc64", AllowedUse.Call, "bit generator state", "SFC64");
        AddNames("numpy.random._generator", AllowedUse.Call, "RNG state", "Generator");
        AddNames("numpy.random.bit_generator", AllowedUse.Call, "RNG seeding state", "SeedSequence");

        // ---- joblib / scipy / scikit-learn ----
        Add("joblib.numpy_pickle:NumpyArrayWrapper", AllowedUse.Call,
            "joblib's placeholder for an array whose raw bytes follow in the stream (read, never executed)");
        AddNames("scipy.sparse.*", AllowedUse.Call, "sparse matrix containers (constructors only store arrays)",
            "csr_matrix", "csc_matrix", "coo_matrix", "bsr_matrix", "dia_matrix", "dok_matrix", "lil_matrix",
            "csr_array", "csc_array", "coo_array", "bsr_array", "dia_array", "dok_array", "lil_array");
        foreach (var package in (string[])
        [
            "linear_model", "ensemble", "tree", "svm", "neighbors", "preprocessing", "pipeline", "compose", "decomposition",
            "cluster", "naive_bayes", "feature_extraction", "feature_selection", "impute", "neural_network",
            "discriminant_analysis", "gaussian_process", "kernel_approximation", "manifold", "mixture", "multiclass",
            "multioutput", "calibration", "dummy", "isotonic", "kernel_ridge", "random_projection", "semi_supervised",
            "cross_decomposition", "covariance", "_loss",
        ])
        {
            Add($"sklearn.{package}.*:<Class>", AllowedUse.Call,
                "a scikit-learn estimator class: by convention __init__ only stores its parameters");
        }
        Add("sklearn.utils._bunch:Bunch", AllowedUse.Call, "dict subclass used for estimator attributes");

        // ---- Python value types and training state (B3, B5) ----
        AddNames("collections", AllowedUse.Call, "container types", "defaultdict", "deque");
        Add("argparse:Namespace", AllowedUse.Call, "plain attribute bag from command-line parsing");
        Add("copyreg:_reconstructor", AllowedUse.Call,
            "protocol 0/1 rebuild of an instance: base.__new__(cls) with judged cls/base globals");
        AddNames("copyreg", AllowedUse.Call, "cls.__new__(cls, *args) for a judged cls", "__newobj__", "__newobj_ex__");
        AddNames("builtins", AllowedUse.Call, "builtin value type",
            "frozenset", "slice", "range", "bytes", "int", "float", "str", "bool", "tuple", "list", "dict", "object");
        AddNames("datetime", AllowedUse.Call, "value types rebuilt from bytes", "datetime", "date", "time", "timedelta", "timezone");
        AddNames("pathlib", AllowedUse.Call, "path value types (no file access on construction)",
            "PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath", "Path");
        AddNames("pathlib._local", AllowedUse.Call, "the same path classes where Python 3.13 defines them (no file access on construction)",
            "PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath", "Path");

        // ---- Standard-library value types that checkpoints and training state carry. Each entry is judged by the
        // callable named, never by its module: the pickle calls only this type, with the arguments its __reduce__ writes,
        // and the constructor or __setstate__ only parses and stores them. (Lib/<module>.py of CPython 3.11–3.13.) ----
        Add("decimal:Decimal", AllowedUse.Call,
            "Decimal.__reduce__ is (Decimal, (str(self),)): the constructor parses a numeric string and stores it");
        Add("fractions:Fraction", AllowedUse.Call,
            "Fraction.__reduce__ is (Fraction, (numerator, denominator)): the constructor normalises two numbers and stores them");
        AddNames("ipaddress", AllowedUse.Call,
            "address/network __reduce__ is (cls, (int or str,)): the constructor parses an address and stores it; no lookups, no I/O",
            "IPv4Address", "IPv6Address", "IPv4Network", "IPv6Network", "IPv4Interface", "IPv6Interface");
        Add("uuid:UUID", AllowedUse.Call,
            "UUID pickles as UUID + BUILD {'int': …}: __setstate__ stores the integer; the module's command-running node lookups are denied by name");
        Add("uuid:SafeUUID", AllowedUse.Call, "an Enum looked up by value (SafeUUID(0)), stored in UUID state");
        Add("types:SimpleNamespace", AllowedUse.Call,
            "SimpleNamespace.__reduce__ is (type, (), __dict__): an attribute bag whose BUILD only sets attributes; CodeType/FunctionType stay denied");
        Add("array:array", AllowedUse.Call, "array.__reduce_ex__ below protocol 3 is (array, (typecode, list)): stores numbers");
        Add("array:_array_reconstructor", AllowedUse.Call,
            "array.__reduce_ex__ at protocol 3+: builds an array from a typecode and bytes; its first argument must be an array type (TypeError otherwise)");
        AddNames("transformers.training_args", AllowedUse.New, "training_args.bin; __post_init__ has side effects the pickle never runs", "TrainingArguments");
        AddNames("transformers.training_args_seq2seq", AllowedUse.New, "training_args.bin for seq2seq trainers", "Seq2SeqTrainingArguments");
        AddNames("transformers.training_args", AllowedUse.Call, "an enum of optimizer names", "OptimizerNames");
        AddNames("transformers.trainer_utils", AllowedUse.Call, "enums stored in TrainingArguments",
            "IntervalStrategy", "SaveStrategy", "HubStrategy", "SchedulerType", "EvaluationStrategy", "FSDPOption", "ShardedDDPOption");
        AddNames("transformers.trainer_pt_utils", AllowedUse.New, "dataclass stored in TrainingArguments", "AcceleratorConfig");
        AddNames("transformers.debug_utils", AllowedUse.Call, "an enum stored in TrainingArguments", "DebugOption");
        AddNames("accelerate.state", AllowedUse.New, "accelerator state; its __init__ touches the process group, NEWOBJ does not", "PartialState");
        AddNames("accelerate.utils.dataclasses", AllowedUse.Call, "an enum stored in training state", "DistributedType");
        Add("torch.nn.modules.*:<Class>", AllowedUse.New, "torch.nn layers of a whole-model pickle, rebuilt with NEWOBJ + BUILD");
        return list;
    }
}
