using System.Text.Json;
using Google.Protobuf;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// TensorFlow SavedModels: <c>saved_model.pb</c> (a SavedModel protobuf) and the <c>keras_metadata.pb</c> beside it,
/// walked with <see cref="ProtoWire"/> by the field numbers of TensorFlow's own .proto files. Every MetaGraphDef's graph
/// nodes and every function of its library are judged by op: ops that run Python registered at run time, ops that read or
/// write files, and checkpoint ops outside the SaverDef's own save and restore subgraphs. The Keras objects' JSON metadata
/// (in keras_metadata.pb, or in the object graph's user objects before TF 2.5) is judged as Keras configs are: Lambda
/// layers and custom objects. Content TensorFlow fails to parse runs nothing: it is inert, and nothing in it is judged.
/// </summary>
internal static class SavedModelReader
{
    /// <summary>Rules with the reason each matters.</summary>
    public static class Rules
    {
        /// <summary>An op that calls a Python function registered in the loading process: whatever it does runs when the graph does.</summary>
        public const string PythonOp = "tf.python-op";
        /// <summary>An op that reads, writes or lists files on the host when the graph runs.</summary>
        public const string FileAccess = "tf.file-access";
        /// <summary>A checkpoint op outside the saver's own subgraph writes or reads tensor files at a path the graph chooses.</summary>
        public const string CheckpointOp = "tf.checkpoint-op";
        /// <summary>The protobuf does not parse, so TensorFlow loads nothing from it.</summary>
        public const string Corrupt = "tf.corrupt";
    }

    /// <summary>
    /// Ops of tensorflow/core/ops/script_ops.cc: each calls the Python function registered under its <c>token</c> attr
    /// (tf.py_function, tf.numpy_function, tf.compat.v1.py_func), so the graph runs whatever Python the loading process
    /// maps to that token, and the file cannot vouch for it.
    /// </summary>
    private static readonly IReadOnlySet<string> PythonOps = new HashSet<string>(StringComparer.Ordinal) { "PyFunc", "PyFuncStateless", "EagerPyFunc" };

    /// <summary>
    /// File-system ops of TensorFlow's op registry (tensorflow/core/ops/io_ops.cc, logging_ops.cc, dataset_ops.cc,
    /// summary_ops.cc), with why each matters. A SavedModel's graph runs when the loaded model is called, which is why it is
    /// loaded: reading or writing any file is Dangerous (ModelScan rates ReadFile and WriteFile HIGH, protectai/modelscan
    /// modelscan/settings.py); ops that only list names or read record files a serving graph has no use for are Suspicious.
    /// </summary>
    private static readonly IReadOnlyDictionary<string, (ScanLevel Level, string Why)> FileOps = new Dictionary<string, (ScanLevel, string)>(StringComparer.Ordinal)
    {
        ["ReadFile"] = (ScanLevel.Dangerous, "returns the bytes of any file the process can read (tf.io.read_file)"),
        ["WriteFile"] = (ScanLevel.Dangerous, "writes bytes to any path, creating its directories (tf.io.write_file)"),
        ["MatchingFiles"] = (ScanLevel.Suspicious, "lists the files matching a glob on the host (tf.io.matching_files)"),
        ["WholeFileReader"] = (ScanLevel.Suspicious, "reads whole files named by a queue"),
        ["WholeFileReaderV2"] = (ScanLevel.Suspicious, "reads whole files named by a queue"),
        ["ImmutableConst"] = (ScanLevel.Suspicious, "memory-maps a file named in its memory_region_name attr"),
        ["DatasetToTFRecord"] = (ScanLevel.Dangerous, "writes a dataset to a TFRecord file at a path the graph chooses"),
        ["SaveDataset"] = (ScanLevel.Dangerous, "writes a dataset to a directory the graph chooses"),
        ["SaveDatasetV2"] = (ScanLevel.Dangerous, "writes a dataset to a directory the graph chooses"),
        ["CreateSummaryFileWriter"] = (ScanLevel.Suspicious, "creates event files in a log directory the graph chooses"),
    };

    /// <summary>
    /// PrintV2 (logging_ops.cc) prints to a log stream, or appends to a file when its <c>output_stream</c> attr is
    /// <c>file://path</c> (tensorflow/core/kernels/logging_ops.cc): any text, to any file, whenever the graph runs.
    /// </summary>
    private const string PrintV2 = "PrintV2";

    /// <summary>Which part of the saver a checkpoint op belongs to (tensorflow/core/ops/io_ops.cc).</summary>
    private enum CheckpointRole
    {
        /// <summary>Writes tensors to files: belongs on the save path, which runs only when the program saves.</summary>
        Save,
        /// <summary>Reads tensors from files: belongs on the restore path, which the loader runs.</summary>
        Restore,
        /// <summary>Builds file names: belongs on either.</summary>
        Either,
    }

    /// <summary>Checkpoint ops, normal inside the SaverDef's save or restore subgraph (tf.train.Saver, TF2's functional saver).</summary>
    private static readonly IReadOnlyDictionary<string, CheckpointRole> CheckpointOps = new Dictionary<string, CheckpointRole>(StringComparer.Ordinal)
    {
        ["SaveV2"] = CheckpointRole.Save,
        ["Save"] = CheckpointRole.Save,
        ["SaveSlices"] = CheckpointRole.Save,
        ["MergeV2Checkpoints"] = CheckpointRole.Save,
        ["RestoreV2"] = CheckpointRole.Restore,
        ["Restore"] = CheckpointRole.Restore,
        ["RestoreSlice"] = CheckpointRole.Restore,
        ["ShardedFilename"] = CheckpointRole.Either,
        ["ShardedFilespec"] = CheckpointRole.Either,
    };

    /// <summary>
    /// Keras' own layer and model classes (tf_keras/layers/__init__.py, tf_keras/models): a layer, model or network node
    /// whose class_name is none of these needs code the loading program supplies.
    /// </summary>
    private static readonly IReadOnlySet<string> KerasClasses = new HashSet<string>(StringComparer.Ordinal)
    {
        "Sequential", "Functional", "Model", "InputLayer",
        "Dense", "EinsumDense", "Activation", "Dropout", "Flatten", "Reshape", "Permute", "RepeatVector", "Lambda", "Masking",
        "Embedding", "Identity", "TFOpLambda", "SlicingOpLambda", "ActivityRegularization", "SpatialDropout1D", "SpatialDropout2D",
        "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
        "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose", "SeparableConv1D", "SeparableConv2D",
        "DepthwiseConv1D", "DepthwiseConv2D", "Cropping1D", "Cropping2D", "Cropping3D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
        "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "LocallyConnected1D", "LocallyConnected2D",
        "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
        "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
        "BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization", "SyncBatchNormalization",
        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
        "Attention", "AdditiveAttention", "MultiHeadAttention",
        "RNN", "SimpleRNN", "GRU", "LSTM", "SimpleRNNCell", "GRUCell", "LSTMCell", "StackedRNNCells", "Bidirectional", "TimeDistributed",
        "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "CuDNNGRU", "CuDNNLSTM",
        "ReLU", "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "Softmax",
        "Rescaling", "Normalization", "Resizing", "CenterCrop", "RandomCrop", "RandomFlip", "RandomRotation", "RandomZoom",
        "RandomTranslation", "RandomContrast", "RandomBrightness", "RandomHeight", "RandomWidth", "TextVectorization", "StringLookup",
        "IntegerLookup", "CategoryEncoding", "Hashing", "HashedCrossing", "Discretization",
    };

    /// <summary>The identifiers (saved_metadata.proto) of Keras layers, models and networks, whose class must load.</summary>
    private static readonly IReadOnlySet<string> LayerIdentifiers = new HashSet<string>(StringComparer.Ordinal)
    {
        "_tf_keras_layer", "_tf_keras_input_layer", "_tf_keras_rnn_layer", "_tf_keras_network", "_tf_keras_model", "_tf_keras_sequential",
    };

    /// <summary>Names, ops, inputs and attr strings longer than this are not read into memory.</summary>
    private const int MaxNameBytes = 64 * 1024;

    /// <summary>
    /// The head of a SavedModel as TensorFlow writes it (tensorflow/core/protobuf/saved_model.proto): an optional
    /// saved_model_schema_version (field 1, varint), then meta_graphs (field 2) opening with a MetaGraphDef field 1-7.
    /// </summary>
    public static bool LooksLikeSavedModel(ReadOnlySpan<byte> head)
    {
        var pos = 0;
        if (!LoaderFallback.ReadVarint(head, ref pos, out var tag))
        {
            return false;
        }
        if (tag == (1 << 3) && (!LoaderFallback.ReadVarint(head, ref pos, out _) || !LoaderFallback.ReadVarint(head, ref pos, out tag)))
        {
            return false;
        }
        return tag == ((2 << 3) | 2) && LoaderFallback.ReadVarint(head, ref pos, out var length) && length > 0 && pos < head.Length && IsMessageTag(head[pos], 7);
    }

    /// <summary>
    /// The head of a keras_metadata.pb (saved_metadata.proto): nodes (field 1) opening with a SavedObject field 2-6.
    /// </summary>
    public static bool LooksLikeKerasMetadata(ReadOnlySpan<byte> head)
    {
        var pos = 0;
        return LoaderFallback.ReadVarint(head, ref pos, out var tag) && tag == ((1 << 3) | 2) && LoaderFallback.ReadVarint(head, ref pos, out var length) && length > 0
            && pos < head.Length && head[pos] is 0x10 or 0x1a or 0x22 or 0x2a or 0x32;
    }

    private static bool IsMessageTag(byte tag, int maxField) => (tag & 7) == 2 && tag >> 3 is var field && field >= 1 && field <= maxField;

    /// <summary>Protobuf content larger than this is not read into memory (TensorFlow reads up to 2 GiB).</summary>
    internal const int MaxMessageBytes = 512 * 1024 * 1024;

    /// <summary>The formats this reader takes.</summary>
    public const string SavedModelFormat = "tensorflow-savedmodel";
    public const string KerasMetadataFormat = "keras-metadata";
    public const string FingerprintFormat = "tensorflow-fingerprint";

    /// <summary>
    /// The head of a small fingerprint.pb, which tf.saved_model.save writes beside saved_model.pb since TF 2.11
    /// (tensorflow/core/protobuf/fingerprint.proto FingerprintDef: hashes in fields 1-5, a VersionDef in 6, a UUID in 7).
    /// </summary>
    public static bool LooksLikeFingerprint(ReadOnlySpan<byte> head) => head.Length is >= 2 and < 4096 && head[0] == 0x08;

    /// <summary>
    /// <see cref="SavedModelFormat"/> when the head looks like a SavedModel and the top level is one (only fields 1,
    /// varint, and 2, messages, at least one meta graph, ending at the end), <see cref="KerasMetadataFormat"/> likewise for
    /// a SavedMetadata (only nodes, field 1), or null. Content too large to read is taken by its head alone.
    /// </summary>
    public static string? Recognise(Stream seekable, ReadOnlySpan<byte> head)
    {
        var format = LooksLikeSavedModel(head) ? SavedModelFormat : LooksLikeKerasMetadata(head) ? KerasMetadataFormat : null;
        if (format is null && LooksLikeFingerprint(head))
        {
            return IsFingerprint(head) ? FingerprintFormat : null;
        }
        if (format is null || seekable.Length > MaxMessageBytes)
        {
            return format;
        }
        var counted = 0;
        var foreign = false;
        try
        {
            new ProtoWire(ReadAll(seekable)).ReadFields((field, wire) =>
            {
                var (counts, allowed) = format == SavedModelFormat
                    ? ((field, wire) == (2, WireFormat.WireType.LengthDelimited), (field, wire) == (1, WireFormat.WireType.Varint))
                    : ((field, wire) == (1, WireFormat.WireType.LengthDelimited), false);
                counted += counts ? 1 : 0;
                foreign |= !counts && !allowed;
                return false;
            });
        }
        catch (Exception e) when (ScanContext.IsBrokenContent(e))
        {
            return null;
        }
        return counted > 0 && !foreign ? format : null;
    }

    /// <summary>
    /// True when the whole content is a FingerprintDef: only hashes (fields 1-5, varints), a VersionDef of integers
    /// (field 6) and a UUID (field 7). Integers and an id hold nothing a loader runs, so it needs no judging; a graph or
    /// a model cannot take this shape.
    /// </summary>
    private static bool IsFingerprint(ReadOnlySpan<byte> whole)
    {
        var hashes = 0;
        var foreign = false;
        var wire = new ProtoWire(whole.ToArray());
        try
        {
            wire.ReadFields((field, type) =>
            {
                switch (field, type)
                {
                    case (>= 1 and <= 5, WireFormat.WireType.Varint):
                        hashes++;
                        return false;
                    case (6, WireFormat.WireType.LengthDelimited):
                        // VersionDef: producer = 1, min_consumer = 2, bad_consumers = 3 (packed or not).
                        wire.ReadMessage((f, t) =>
                        {
                            foreign |= t != WireFormat.WireType.Varint && (f, t) != (3, WireFormat.WireType.LengthDelimited);
                            return false;
                        });
                        return true;
                    case (7, WireFormat.WireType.LengthDelimited):
                        foreign |= !Guid.TryParse(wire.ReadText(64), out _);
                        return true;
                    default:
                        foreign = true;
                        return false;
                }
            });
        }
        catch (Exception e) when (ScanContext.IsBrokenContent(e))
        {
            return false;
        }
        return hashes > 0 && !foreign;
    }

    /// <summary>The whole content from its start.</summary>
    private static byte[] ReadAll(Stream seekable)
    {
        seekable.Position = 0;
        var bytes = new byte[seekable.Length];
        if (ScanContext.ReadAtMost(seekable, bytes) != bytes.Length)
        {
            throw new EndOfStreamException("The content ended before its length.");
        }
        seekable.Position = 0;
        return bytes;
    }

    /// <summary>Judges content <see cref="Recognise"/> took as <paramref name="format"/>; <paramref name="seekable"/> is read from its start.</summary>
    public static void Scan(ScanContext context, Stream seekable, string? path, string format)
    {
        if (seekable.Length > MaxMessageBytes)
        {
            throw new ScanLimitException(ContainerRules.SizeLimit,
                $"The {format} protobuf is {seekable.Length:N0} bytes, more than the {MaxMessageBytes:N0} this scanner reads; it was not judged.", path);
        }
        if (format == FingerprintFormat)
        {
            return;
        }
        if (format == SavedModelFormat)
        {
            ScanSavedModel(context, ReadAll(seekable), path);
        }
        else
        {
            ScanKerasMetadata(context, ReadAll(seekable), path);
        }
    }

    private static void ScanSavedModel(ScanContext context, byte[] content, string? path)
    {
        var metaGraphs = new List<MetaGraph>();
        if (!Parse(context, content, path, "tf.saved_model.load", "saved_model.proto", wire => wire.ReadFields((field, type) =>
            {
                if ((field, type) != (2, WireFormat.WireType.LengthDelimited))
                {
                    return false;
                }
                var metaGraph = new MetaGraph(context, path);
                metaGraphs.Add(metaGraph);
                wire.ReadMessage(metaGraph.Read(wire));
                return true;
            })))
        {
            return;
        }
        foreach (var (metaGraph, index) in metaGraphs.Select((m, i) => (m, i)))
        {
            metaGraph.Judge(metaGraphs.Count > 1 ? $"meta graph {index}" : "the graph");
        }
    }

    private static void ScanKerasMetadata(ScanContext context, byte[] content, string? path)
    {
        var objects = new List<KerasObject>();
        if (!Parse(context, content, path, "tf.keras.models.load_model", "saved_metadata.proto", wire => wire.ReadFields((field, type) =>
            {
                if ((field, type) != (1, WireFormat.WireType.LengthDelimited))
                {
                    return false;
                }
                // SavedObject: node_path = 3, identifier = 4, metadata = 5 (tf_keras/protobuf/saved_metadata.proto).
                var item = new KerasObject();
                wire.ReadMessage((f, t) => t == WireFormat.WireType.LengthDelimited && f switch
                {
                    3 => Set(ref item.Path, wire.ReadText(MaxNameBytes)),
                    4 => Set(ref item.Identifier, wire.ReadText(MaxNameBytes)),
                    5 => item.ReadMetadata(context, wire, path),
                    _ => false,
                });
                objects.Add(item);
                return true;
            })))
        {
            return;
        }
        JudgeKeras(context, objects, path);
    }

    /// <summary>
    /// Runs <paramref name="walk"/> over the whole content. When the protobuf does not parse, TensorFlow loads nothing from
    /// it (loader_impl.parse_saved_model raises IOError "Cannot parse file", reader.cc ReadBinaryProto fails), so the
    /// content is inert: nothing the walk collected is judged. Returns whether it parsed.
    /// </summary>
    private static bool Parse(ScanContext context, byte[] content, string? path, string loader, string schema, Action<ProtoWire> walk)
    {
        var wire = new ProtoWire(content);
        try
        {
            walk(wire);
            return true;
        }
        catch (Exception e) when (ScanContext.IsBrokenContent(e))
        {
            var offset = wire.Position;
            context.Add(Rules.Corrupt, ScanLevel.Safe, $"The content does not parse as {schema} at offset {offset}: {e.Message}", path, offset);
            context.Add(InertContent.Rule, ScanLevel.Safe,
                $"inert: {loader} would fail: the protobuf does not parse, so TensorFlow builds and runs nothing from it.", path);
            return false;
        }
    }

    private static bool Set(ref string? target, string? value)
    {
        target = value ?? "(overlong)";
        return true;
    }

    /// <summary>One NodeDef (node_def.proto: name = 1, op = 2, input = 3, attr = 5) and what it calls.</summary>
    private sealed class Node
    {
        public string Name = "";
        public string Op = "";
        public long Offset;
        public readonly List<string> Inputs = [];
        /// <summary>Function names in func and list(func) attrs (PartitionedCall's f, While's body …).</summary>
        public readonly List<string> Calls = [];
        public string? OutputStream;
    }

    /// <summary>A Keras object's identifier and JSON metadata (saved_metadata.proto SavedObject, or saved_object_graph.proto SavedUserObject).</summary>
    private sealed class KerasObject
    {
        public string? Path;
        public string? Identifier;
        public string? Metadata;

        public bool ReadMetadata(ScanContext context, ProtoWire wire, string? path)
        {
            Metadata = wire.ReadText(context.Limits.MaxInspectedArgumentBytes);
            if (Metadata is null)
            {
                context.Add(ContainerRules.SizeLimit, ScanLevel.Suspicious,
                    $"A Keras object's metadata is larger than {context.Limits.MaxInspectedArgumentBytes:N0} bytes and was not judged.", path);
            }
            return true;
        }
    }

    /// <summary>One MetaGraphDef (meta_graph.proto): its graph, its function library, its saver and its Keras objects.</summary>
    private sealed class MetaGraph(ScanContext context, string? path)
    {
        private readonly List<Node> _nodes = [];
        private readonly Dictionary<string, List<Node>> _functions = new(StringComparer.Ordinal);
        private readonly List<KerasObject> _kerasObjects = [];
        private string? _saveTensor;
        private string? _restoreOp;
        /// <summary>Tensors and ops the loader or a caller runs: signature outputs, and node-list collections (main_op, legacy_init_op).</summary>
        private readonly List<string> _runs = [];

        /// <summary>MetaGraphDef: graph_def = 2, saver_def = 3, collection_def = 4, signature_def = 5, object_graph_def = 7 (maps: key = 1, value = 2).</summary>
        public ProtoWire.FieldReader Read(ProtoWire wire) => (field, type) => type == WireFormat.WireType.LengthDelimited && field switch
        {
            2 => Enter(wire, ReadGraph(wire)),
            3 => Enter(wire, ReadSaver(wire)),
            4 => Enter(wire, MapValue(wire, ReadCollection(wire))),
            5 => Enter(wire, MapValue(wire, ReadSignature(wire))),
            7 => Enter(wire, ReadObjectGraph(wire)),
            _ => false,
        };

        private static ProtoWire.FieldReader MapValue(ProtoWire wire, ProtoWire.FieldReader value) =>
            (field, type) => (field, type) == (2, WireFormat.WireType.LengthDelimited) && Enter(wire, value);

        /// <summary>CollectionDef: node_list = 1 (NodeList: value = 1), the ops the loader runs as main_op or legacy_init_op.</summary>
        private ProtoWire.FieldReader ReadCollection(ProtoWire wire) => (field, type) =>
            (field, type) == (1, WireFormat.WireType.LengthDelimited) && Enter(wire, ReadRunName(wire, 1));

        /// <summary>SignatureDef: outputs = 2 (map of TensorInfo: name = 1, coo_sparse = 4 with names 1-3, composite_tensor = 5 with components = 2).</summary>
        private ProtoWire.FieldReader ReadSignature(ProtoWire wire) => (field, type) =>
            (field, type) == (2, WireFormat.WireType.LengthDelimited) && Enter(wire, MapValue(wire, ReadTensorInfo(wire)));

        private ProtoWire.FieldReader ReadTensorInfo(ProtoWire wire) => (field, type) => type == WireFormat.WireType.LengthDelimited && field switch
        {
            1 => ReadRunName(wire, 1)(1, type),
            4 => Enter(wire, (f, t) => f is >= 1 and <= 3 && ReadRunName(wire, f)(f, t)),
            5 => Enter(wire, (f, t) => (f, t) == (2, WireFormat.WireType.LengthDelimited) && Enter(wire, ReadTensorInfo(wire))),
            _ => false,
        };

        private ProtoWire.FieldReader ReadRunName(ProtoWire wire, int nameField) => (field, type) =>
            (field, type) == (nameField, WireFormat.WireType.LengthDelimited) && wire.ReadText(MaxNameBytes) is { } name && Add(_runs, name);

        private static bool Enter(ProtoWire wire, ProtoWire.FieldReader read)
        {
            wire.ReadMessage(read);
            return true;
        }

        /// <summary>GraphDef (graph.proto): node = 1, library = 2; FunctionDefLibrary (function.proto): function = 1.</summary>
        private ProtoWire.FieldReader ReadGraph(ProtoWire wire) => (field, type) => type == WireFormat.WireType.LengthDelimited && field switch
        {
            1 => Enter(wire, ReadNode(wire, _nodes)),
            2 => Enter(wire, (f, t) => (f, t) == (1, WireFormat.WireType.LengthDelimited) && ReadFunction(wire)),
            _ => false,
        };

        /// <summary>
        /// FunctionDef (function.proto): signature = 1 (OpDef, name = 1), node_def = 3. Two functions of one name make
        /// TensorFlow's library refuse the graph, yet both bodies are judged rather than trusting which one would win.
        /// </summary>
        private bool ReadFunction(ProtoWire wire)
        {
            var name = "";
            var nodes = new List<Node>();
            wire.ReadMessage((field, type) => type == WireFormat.WireType.LengthDelimited && field switch
            {
                1 => Enter(wire, (f, t) => (f, t) == (1, WireFormat.WireType.LengthDelimited) && Set(ref name, wire.ReadText(MaxNameBytes))),
                3 => Enter(wire, ReadNode(wire, nodes)),
                _ => false,
            });
            if (_functions.TryGetValue(name, out var earlier))
            {
                earlier.AddRange(nodes);
            }
            else
            {
                _functions[name] = nodes;
            }
            return true;
        }

        private static bool Set(ref string target, string? value)
        {
            target = value ?? "(overlong)";
            return true;
        }

        /// <summary>NodeDef: name = 1, op = 2, input = 3, attr = 5 (map entry: key = 1, value = 2).</summary>
        private ProtoWire.FieldReader ReadNode(ProtoWire wire, List<Node> into)
        {
            var node = new Node { Offset = wire.Position };
            into.Add(node);
            return (field, type) => type == WireFormat.WireType.LengthDelimited && field switch
            {
                1 => Set(ref node.Name, wire.ReadText(MaxNameBytes)),
                2 => Set(ref node.Op, wire.ReadText(MaxNameBytes)),
                3 => wire.ReadText(MaxNameBytes) is { } input && Add(node.Inputs, input),
                5 => Enter(wire, ReadAttrEntry(wire, node)),
                _ => false,
            };
        }

        private static bool Add(List<string> list, string value)
        {
            list.Add(value);
            return true;
        }

        private ProtoWire.FieldReader ReadAttrEntry(ProtoWire wire, Node node)
        {
            string? key = null;
            return (field, type) => type == WireFormat.WireType.LengthDelimited && field switch
            {
                1 => (key = wire.ReadText(MaxNameBytes)) is var _,
                2 => Enter(wire, ReadAttrValue(wire, node, key)),
                _ => false,
            };
        }

        /// <summary>AttrValue (attr_value.proto): list = 1 (ListValue: func = 9), s = 2, func = 10 (NameAttrList: name = 1, attr = 2).</summary>
        private ProtoWire.FieldReader ReadAttrValue(ProtoWire wire, Node node, string? key) => (field, type) => type == WireFormat.WireType.LengthDelimited && field switch
        {
            1 => Enter(wire, (f, t) => (f, t) == (9, WireFormat.WireType.LengthDelimited) && Enter(wire, ReadFunctionReference(wire, node))),
            2 when key == "output_stream" => (node.OutputStream = wire.ReadText(MaxNameBytes) ?? "(overlong)") is var _,
            10 => Enter(wire, ReadFunctionReference(wire, node)),
            _ => false,
        };

        private ProtoWire.FieldReader ReadFunctionReference(ProtoWire wire, Node node) => (field, type) => type == WireFormat.WireType.LengthDelimited && field switch
        {
            1 => wire.ReadText(MaxNameBytes) is { } name && Add(node.Calls, name),
            2 => Enter(wire, ReadAttrEntry(wire, node)),
            _ => false,
        };

        /// <summary>SaverDef (saver.proto): save_tensor_name = 2, restore_op_name = 3.</summary>
        private ProtoWire.FieldReader ReadSaver(ProtoWire wire) => (field, type) => type == WireFormat.WireType.LengthDelimited && field switch
        {
            2 => (_saveTensor = wire.ReadText(MaxNameBytes)) is var _,
            3 => (_restoreOp = wire.ReadText(MaxNameBytes)) is var _,
            _ => false,
        };

        /// <summary>
        /// SavedObjectGraph (saved_object_graph.proto): nodes = 1; SavedObject: user_object = 4; SavedUserObject:
        /// identifier = 1, metadata = 3, where TensorFlow 2.0-2.4 kept the Keras metadata now in keras_metadata.pb.
        /// </summary>
        private ProtoWire.FieldReader ReadObjectGraph(ProtoWire wire)
        {
            var index = 0;
            return (field, type) => (field, type) == (1, WireFormat.WireType.LengthDelimited) && ReadSavedObject(wire, index++);
        }

        private bool ReadSavedObject(ProtoWire wire, int index) =>
            Enter(wire, (field, type) => (field, type) == (4, WireFormat.WireType.LengthDelimited) && Enter(wire, ReadUserObject(wire, index)));

        private ProtoWire.FieldReader ReadUserObject(ProtoWire wire, int index)
        {
            var item = new KerasObject { Path = $"object graph node {index}" };
            _kerasObjects.Add(item);
            return (field, type) => type == WireFormat.WireType.LengthDelimited && field switch
            {
                1 => SavedModelReader.Set(ref item.Identifier, wire.ReadText(MaxNameBytes)),
                3 => item.ReadMetadata(context, wire, path),
                _ => false,
            };
        }

        /// <summary>
        /// Judges every node. A checkpoint op in the graph is normal unless a signature or init op runs it, or it writes on
        /// the restore path the loader runs (loader_impl.py restores with restore_op_name, then runs main_op or
        /// legacy_init_op); graph nodes nothing runs never run, such as an older Saver's. A library function runs whole
        /// when called, so a checkpoint op in one is normal only when the SaverDef's save or restore call alone reaches it.
        /// </summary>
        public void Judge(string where)
        {
            var save = Closure(_saveTensor is null ? [] : [_saveTensor]);
            var restore = Closure(_restoreOp is null ? [] : [_restoreOp]);
            var runs = Closure(_runs);
            var saveFunctions = Called(save);
            var restoreFunctions = Called(restore);
            // Functions graph nodes outside the saver call, and functions no graph node calls (TF2 keeps the model's
            // functions for the object graph): a checkpoint op in any of these is outside the saver.
            var outsideRoots = _nodes.Where(n => !save.Contains(n) && !restore.Contains(n)).ToList();
            var reached = Called(_nodes);
            var outside = Called(outsideRoots, _functions.Keys.Where(f => !reached.Contains(f)));
            foreach (var node in _nodes)
            {
                JudgeNode(context, node, path, $"{where}'s node '{node.Name}'",
                    role => !runs.Contains(node) && !(role == CheckpointRole.Save && restore.Contains(node)));
            }
            foreach (var (name, nodes) in _functions)
            {
                foreach (var node in nodes)
                {
                    JudgeNode(context, node, path, $"node '{node.Name}' of function '{name}' in {where}'s library",
                        role => !outside.Contains(name) && (role == CheckpointRole.Restore ? restoreFunctions.Contains(name)
                            : role == CheckpointRole.Save ? saveFunctions.Contains(name) && !restoreFunctions.Contains(name)
                            : saveFunctions.Contains(name) || restoreFunctions.Contains(name)));
                }
            }
            JudgeKeras(context, _kerasObjects, path);
        }

        /// <summary>The graph nodes tensors or ops depend on (data and control inputs, transitively), starting at them.</summary>
        private HashSet<Node> Closure(IEnumerable<string> roots)
        {
            var found = new HashSet<Node>();
            var byName = new Dictionary<string, Node>(StringComparer.Ordinal);
            foreach (var node in _nodes)
            {
                byName.TryAdd(node.Name, node);
            }
            var pending = new Stack<string>(roots);
            while (pending.Count > 0)
            {
                if (byName.TryGetValue(NodeName(pending.Pop()), out var node) && found.Add(node))
                {
                    foreach (var input in node.Inputs)
                    {
                        pending.Push(input);
                    }
                }
            }
            return found;
        }

        /// <summary>"save/Const:0" and "^save/SaveV2" name the nodes "save/Const" and "save/SaveV2".</summary>
        private static string NodeName(string input)
        {
            var name = input.StartsWith('^') ? input[1..] : input;
            var colon = name.IndexOf(':');
            return colon >= 0 ? name[..colon] : name;
        }

        /// <summary>The library functions <paramref name="nodes"/> call (by op or by func attr), and those they call in turn, with <paramref name="roots"/>.</summary>
        private HashSet<string> Called(IEnumerable<Node> nodes, IEnumerable<string>? roots = null)
        {
            var found = new HashSet<string>(StringComparer.Ordinal);
            var pending = new Stack<string>(nodes.SelectMany(Callees).Concat(roots ?? []));
            while (pending.Count > 0)
            {
                var name = pending.Pop();
                if (_functions.TryGetValue(name, out var body) && found.Add(name))
                {
                    foreach (var callee in body.SelectMany(Callees))
                    {
                        pending.Push(callee);
                    }
                }
            }
            return found;
        }

        private static IEnumerable<string> Callees(Node node) => node.Calls.Append(node.Op);
    }

    /// <summary>Judges one node by its op; <paramref name="isNormal"/> says whether a checkpoint op of a role is where the saver puts it.</summary>
    private static void JudgeNode(ScanContext context, Node node, string? path, string where, Func<CheckpointRole, bool> isNormal)
    {
        if (PythonOps.Contains(node.Op))
        {
            context.Add(new ModelFinding(Rules.PythonOp, ScanLevel.Dangerous,
                $"{Capitalise(where)} is {node.Op}: running the graph calls whatever Python function the loading process registered for it.", path, node.Offset));
        }
        else if (FileOps.TryGetValue(node.Op, out var file))
        {
            context.Add(new ModelFinding(Rules.FileAccess, file.Level, $"{Capitalise(where)} is {node.Op}, which {file.Why}.", path, node.Offset));
        }
        else if (node.Op == PrintV2 && node.OutputStream is { } stream && stream.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            context.Add(new ModelFinding(Rules.FileAccess, ScanLevel.Dangerous,
                $"{Capitalise(where)} is PrintV2 with output_stream '{stream}': each run appends text to that file.", path, node.Offset));
        }
        else if (CheckpointOps.TryGetValue(node.Op, out var role) && !isNormal(role))
        {
            context.Add(new ModelFinding(Rules.CheckpointOp, ScanLevel.Suspicious,
                $"{Capitalise(where)} is {node.Op} outside the SaverDef's {(role == CheckpointRole.Restore ? "restore" : "save")} subgraph: it {(role == CheckpointRole.Restore ? "reads tensor files" : "writes files")} at a path the graph chooses.", path, node.Offset));
        }
    }

    private static string Capitalise(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    /// <summary>
    /// Each Keras object's JSON metadata is judged as a Keras config (<see cref="KerasReader.ScanConfig"/>: Lambda layers,
    /// gadgets, foreign modules), and a layer or model whose class Keras does not ship is a custom object: TF-Keras builds
    /// it from the loading program's custom_objects or registry (tf_keras/saving/legacy/saved_model/load.py).
    /// </summary>
    private static void JudgeKeras(ScanContext context, IReadOnlyList<KerasObject> objects, string? path)
    {
        // One finding per distinct judgement: a model's metadata repeats its layers' configs, and the layers come after
        // their model (node ids go root first), so walking from the end names the layer itself.
        var seen = new HashSet<(string, ScanLevel, string)>();
        foreach (var item in objects.Reverse())
        {
            if (item.Metadata is null || item.Identifier is null || !item.Identifier.StartsWith("_tf_keras", StringComparison.Ordinal))
            {
                continue;
            }
            var judged = context.Nested();
            KerasReader.ScanConfig(judged, System.Text.Encoding.UTF8.GetBytes(item.Metadata), path);
            if (ClassName(item.Metadata) is { } className && IsCustom(className, item.Identifier))
            {
                judged.Add(KerasReader.Rules.CustomObject, ScanLevel.Suspicious,
                    $"It is of class '{className}', which Keras does not ship: its code comes from whoever loads it.", path);
            }
            foreach (var finding in judged.Findings.Where(f => seen.Add((f.Rule, f.Level, f.Message))))
            {
                context.Add(finding with { Message = $"Keras object '{item.Path ?? item.Identifier}': {finding.Message}" });
            }
        }
    }

    /// <summary>A registered name ("package>Name") outside Keras' packages, or a layer or model class Keras does not ship.</summary>
    private static bool IsCustom(string className, string identifier)
    {
        var separator = className.IndexOf('>');
        if (separator >= 0)
        {
            return !KerasReader.IsKerasPackage(className[..separator]);
        }
        return LayerIdentifiers.Contains(identifier) && !KerasClasses.Contains(className);
    }

    private static string? ClassName(string metadata)
    {
        try
        {
            using var document = JsonDocument.Parse(metadata);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("class_name", out var name)
                && name.ValueKind == JsonValueKind.String ? name.GetString() : null;
        }
        catch (JsonException)
        {
            return null; // ScanConfig already reported the broken JSON
        }
    }
}
