using System.Formats.Tar;
using System.Text;
using System.Text.Json;
using Gatehouse.Scanning.Containers;
using static Gatehouse.Scanning.Tests.Containers.TestContent;

namespace Gatehouse.Scanning.Tests.Containers;

/// <summary>
/// TensorFlow SavedModels (saved_model.pb: every meta graph's nodes and library functions, judged by op) and the Keras
/// metadata beside them (keras_metadata.pb, or the object graph's user objects); corpus case 14. Each protobuf is written
/// field by field with the numbers of TensorFlow's .proto files.
/// </summary>
public sealed class SavedModelReaderTests
{
    private const string SavedModelFormat = "tensorflow-savedmodel";

    // ---- builders: SavedModel { 1 schema version, 2 MetaGraphDef { 2 GraphDef { 1 NodeDef, 2 library { 1 FunctionDef } }, 3 SaverDef, 7 SavedObjectGraph } }

    private static Proto Node(string name, string op, params string[] inputs)
    {
        var node = new Proto().String(1, name).String(2, op);
        foreach (var input in inputs)
        {
            node.String(3, input);
        }
        return node;
    }

    private static Proto WithAttr(Proto node, string key, Proto value) => node.Message(5, new Proto().String(1, key).Message(2, value));

    private static Proto StringAttr(string s) => new Proto().String(2, s);

    private static Proto FuncAttr(string name) => new Proto().Message(10, new Proto().String(1, name));

    private static Proto Call(string name, string function, params string[] inputs) =>
        WithAttr(Node(name, "StatefulPartitionedCall", inputs), "f", FuncAttr(function));

    private static Proto Function(string name, params Proto[] nodes)
    {
        var function = new Proto().Message(1, new Proto().String(1, name));
        foreach (var node in nodes)
        {
            function.Message(3, node);
        }
        return function;
    }

    private static Proto Graph(IEnumerable<Proto> nodes, IEnumerable<Proto>? functions = null)
    {
        var graph = new Proto();
        foreach (var node in nodes)
        {
            graph.Message(1, node);
        }
        if (functions is not null)
        {
            var library = new Proto();
            foreach (var function in functions)
            {
                library.Message(1, function);
            }
            graph.Message(2, library);
        }
        return graph.Message(4, new Proto().Varint(1, 1645));
    }

    private static Proto Saver(string filename, string save, string restore) => new Proto().String(1, filename).String(2, save).String(3, restore).Varint(7, 2);

    private static Proto MetaGraph(Proto graph, Proto? saver = null, Proto? objectGraph = null, string[]? outputs = null, string[]? mainOps = null)
    {
        var meta = new Proto().Message(1, new Proto().String(4, "serve")).Message(2, graph);
        if (saver is not null)
        {
            meta.Message(3, saver);
        }
        if (mainOps is not null)
        {
            // collection_def { key: "saved_model_main_op" value { node_list { value: … } } }
            var nodeList = new Proto();
            foreach (var op in mainOps)
            {
                nodeList.String(1, op);
            }
            meta.Message(4, new Proto().String(1, "saved_model_main_op").Message(2, new Proto().Message(1, nodeList)));
        }
        if (outputs is not null)
        {
            // signature_def { key: "serving_default" value { outputs { key value { name } } } }
            var signature = new Proto();
            foreach (var output in outputs)
            {
                signature.Message(2, new Proto().String(1, output).Message(2, new Proto().String(1, output).Varint(2, 1)));
            }
            meta.Message(5, new Proto().String(1, "serving_default").Message(2, signature));
        }
        if (objectGraph is not null)
        {
            meta.Message(7, objectGraph);
        }
        return meta;
    }

    private static byte[] SavedModel(params Proto[] metaGraphs)
    {
        var model = new Proto().Varint(1, 1);
        foreach (var meta in metaGraphs)
        {
            model.Message(2, meta);
        }
        return model.ToArray();
    }

    /// <summary>tf.compat.v1.train.Saver's subgraphs around y = x·w, with <paramref name="extra"/> nodes added to the graph.</summary>
    private static List<Proto> Tf1Nodes(params Proto[] extra) =>
    [
        Node("x", "Placeholder"), Node("w", "VariableV2"), Node("y", "MatMul", "x", "w"),
        Node("save/Const", "Const"), Node("save/names", "Const"),
        Node("save/SaveV2", "SaveV2", "save/Const", "save/names", "w"),
        Node("save/control_dependency", "Identity", "save/Const", "^save/SaveV2"),
        Node("save/RestoreV2", "RestoreV2", "save/Const", "save/names"),
        Node("save/Assign", "Assign", "w", "save/RestoreV2"),
        Node("save/restore_all", "NoOp", "^save/Assign"),
        .. extra,
    ];

    private static readonly Proto Tf1Saver = Saver("save/Const:0", "save/control_dependency:0", "save/restore_all");

    private static byte[] Tf1(params Proto[] extra) => SavedModel(MetaGraph(Graph(Tf1Nodes(extra)), Tf1Saver, outputs: ["y:0"]));

    private static Proto TracedSave(params Proto[] extra) => Function("__inference__traced_save_9",
        [Node("ShardedFilename", "ShardedFilename", "file_prefix"), Node("SaveV2", "SaveV2", "ShardedFilename:filename:0"),
         Node("MergeV2Checkpoints", "MergeV2Checkpoints", "ShardedFilename:filename:0"), .. extra]);

    private static readonly Proto TracedRestore = Function("__inference__traced_restore_11", Node("RestoreV2", "RestoreV2", "file_prefix"), Node("Assign", "AssignVariableOp", "w", "RestoreV2"));

    /// <summary>What tf.saved_model.save writes: a serving call, the saver's calls to the traced save and restore functions, and the library.</summary>
    private static byte[] Tf2(Proto[] serving, Proto[]? functions = null, Proto[]? graphNodes = null, Proto? save = null, Proto? objectGraph = null)
    {
        var nodes = new List<Proto>
        {
            Node("x", "Placeholder"), Node("w", "VarHandleOp"), Call("StatefulPartitionedCall", "__inference_serving_7", "x", "w"),
            Node("saver_filename", "Placeholder"),
            Call("StatefulPartitionedCall_1", "__inference__traced_save_9", "saver_filename", "w"),
            Call("StatefulPartitionedCall_2", "__inference__traced_restore_11", "saver_filename", "w"),
        };
        nodes.AddRange(graphNodes ?? []);
        var library = new List<Proto> { Function("__inference_serving_7", serving), save ?? TracedSave(), TracedRestore };
        library.AddRange(functions ?? []);
        return SavedModel(MetaGraph(Graph(nodes, library), Saver("saver_filename:0", "StatefulPartitionedCall_1:0", "StatefulPartitionedCall_2"), objectGraph));
    }

    private static Proto PyFunc(string name = "py", string op = "PyFunc") => WithAttr(Node(name, op, "y"), "token", StringAttr("pyfunc_0"));

    // ---- Keras metadata: SavedMetadata { 1 SavedObject { 2 node_id, 3 node_path, 4 identifier, 5 metadata } }

    private static string Layer(string className, object? config = null) =>
        JsonSerializer.Serialize(new Dictionary<string, object?> { ["name"] = "layer", ["class_name"] = className, ["config"] = config ?? new { name = "layer", units = 4 } });

    private static readonly string LambdaLayer = Layer("Lambda", new Dictionary<string, object?>
    {
        ["name"] = "lambda",
        ["function"] = new Dictionary<string, object?> { ["class_name"] = "__tuple__", ["items"] = new object?[] { "4wEAAAAAAAAA", null, null } },
        ["function_type"] = "lambda",
    });

    private static byte[] KerasMetadata(params (string Identifier, string Metadata)[] objects)
    {
        var metadata = new Proto();
        foreach (var ((identifier, json), index) in objects.Select((o, i) => (o, i)))
        {
            metadata.Message(1, new Proto().Varint(2, (ulong)index).String(3, index == 0 ? "root" : $"root.layer-{index}").String(4, identifier).String(5, json));
        }
        return metadata.ToArray();
    }

    private static byte[] Sequential(params string[] layers)
    {
        var configs = layers.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var model = JsonSerializer.Serialize(new { name = "sequential", class_name = "Sequential", config = new { name = "sequential", layers = configs } });
        return KerasMetadata([("_tf_keras_sequential", model), .. layers.Select(l => ("_tf_keras_layer", l))]);
    }

    // ---- benign graphs

    [Fact]
    public async Task A_TF1_graph_with_checkpoint_ops_inside_its_saver_subgraphs_is_safe()
    {
        var report = await ScanAsync(Tf1(), "saved_model.pb");

        Assert.Equal((SavedModelFormat, ScanLevel.Safe), (report.Format, report.Verdict));
        Assert.Empty(report.Findings);
    }

    [Fact]
    public async Task A_TF2_model_whose_traced_save_and_restore_functions_the_saver_calls_is_safe()
    {
        var report = await ScanAsync(Tf2([Node("MatMul", "MatMul", "x", "w"), Node("add", "AddV2", "MatMul:product:0")]), "saved_model.pb");

        Assert.Equal((SavedModelFormat, ScanLevel.Safe), (report.Format, report.Verdict));
        Assert.Empty(report.Findings);
    }

    [Fact]
    public async Task A_SavedModel_is_told_by_content_whatever_its_name()
    {
        var report = await ScanAsync(Tf1(PyFunc()), "blob");

        Assert.Equal((SavedModelFormat, ScanLevel.Dangerous), (report.Format, report.Verdict));
    }

    [Fact]
    public async Task A_SavedModel_without_a_schema_version_is_still_read()
    {
        var model = new Proto().Message(2, MetaGraph(Graph([Node("x", "Placeholder"), PyFunc()]))).ToArray();

        var report = await ScanAsync(model, "saved_model.pb");

        Assert.Equal((SavedModelFormat, ScanLevel.Dangerous), (report.Format, report.Verdict));
    }

    [Fact]
    public async Task An_empty_function_library_and_no_saver_is_safe()
    {
        var report = await ScanAsync(SavedModel(MetaGraph(Graph([Node("x", "Placeholder"), Node("y", "Relu", "x")], []))), "saved_model.pb");

        Assert.Equal((SavedModelFormat, ScanLevel.Safe), (report.Format, report.Verdict));
    }

    // ---- ops that run Python

    [Theory]
    [InlineData("PyFunc")]
    [InlineData("PyFuncStateless")]
    [InlineData("EagerPyFunc")]
    public async Task An_op_that_calls_registered_Python_in_the_graph_is_dangerous(string op)
    {
        var report = await ScanAsync(Tf1(PyFunc("hook", op)), "saved_model.pb");

        var finding = Assert.Single(report.Findings);
        Assert.Equal(("tf.python-op", ScanLevel.Dangerous), (finding.Rule, finding.Level));
        Assert.Contains($"node 'hook' is {op}", finding.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PyFunc")]
    [InlineData("PyFuncStateless")]
    [InlineData("EagerPyFunc")]
    public async Task An_op_that_calls_registered_Python_inside_a_library_function_is_dangerous(string op)
    {
        var report = await ScanAsync(Tf2([Node("MatMul", "MatMul", "x", "w"), PyFunc("hook", op)]), "saved_model.pb");

        var finding = Assert.Single(report.Findings);
        Assert.Equal(("tf.python-op", ScanLevel.Dangerous), (finding.Rule, finding.Level));
        Assert.Contains("of function '__inference_serving_7'", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_python_op_in_a_function_no_node_calls_is_judged_too()
    {
        // TF2 keeps functions the object graph names (a tf.function's concrete functions) with no graph node calling them.
        var report = await ScanAsync(Tf2([Node("MatMul", "MatMul", "x", "w")], [Function("__inference_call_99", PyFunc())]), "saved_model.pb");

        Assert.Equal("tf.python-op", Assert.Single(report.Findings).Rule);
    }

    [Fact]
    public async Task A_finding_gives_the_offset_of_its_node()
    {
        var model = Tf1(PyFunc("hook"));

        var finding = Assert.Single((await ScanAsync(model, "saved_model.pb")).Findings);

        var offset = (int)finding.Offset!.Value;
        Assert.True(model.AsSpan(offset).StartsWith(new Proto().String(1, "hook").ToArray()), $"offset {offset} is not the node 'hook'");
    }

    // ---- ops that touch files

    [Theory]
    [InlineData("ReadFile", ScanLevel.Dangerous)]
    [InlineData("WriteFile", ScanLevel.Dangerous)]
    [InlineData("DatasetToTFRecord", ScanLevel.Dangerous)]
    [InlineData("SaveDatasetV2", ScanLevel.Dangerous)]
    [InlineData("MatchingFiles", ScanLevel.Suspicious)]
    [InlineData("WholeFileReaderV2", ScanLevel.Suspicious)]
    [InlineData("ImmutableConst", ScanLevel.Suspicious)]
    [InlineData("CreateSummaryFileWriter", ScanLevel.Suspicious)]
    public async Task An_op_that_touches_files_is_judged_by_what_it_does(string op, ScanLevel level)
    {
        var report = await ScanAsync(Tf2([Node("path", "Const"), Node("io", op, "path:output:0")]), "saved_model.pb");

        var finding = Assert.Single(report.Findings);
        Assert.Equal(("tf.file-access", level), (finding.Rule, finding.Level));
        Assert.Contains($"is {op}, which", finding.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("file:///tmp/gatehouse.log")]
    [InlineData("FILE:///home/user/.bashrc")]
    public async Task PrintV2_to_a_file_is_dangerous(string stream)
    {
        var report = await ScanAsync(Tf2([WithAttr(Node("print", "PrintV2", "x"), "output_stream", StringAttr(stream))]), "saved_model.pb");

        var finding = Assert.Single(report.Findings);
        Assert.Equal(("tf.file-access", ScanLevel.Dangerous), (finding.Rule, finding.Level));
        Assert.Contains(stream, finding.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("stderr")]
    [InlineData("stdout")]
    [InlineData("log(info)")]
    [InlineData(null)]
    public async Task PrintV2_to_a_log_stream_is_safe(string? stream)
    {
        var print = Node("print", "PrintV2", "x");
        if (stream is not null)
        {
            WithAttr(print, "output_stream", StringAttr(stream));
        }

        var report = await ScanAsync(Tf2([print]), "saved_model.pb");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Fact]
    public async Task An_attr_named_output_stream_on_another_op_is_not_read_as_PrintV2s()
    {
        var report = await ScanAsync(Tf2([WithAttr(Node("n", "Identity", "x"), "output_stream", StringAttr("file:///tmp/x"))]), "saved_model.pb");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    // ---- checkpoint ops and the saver

    [Theory]
    [InlineData("SaveV2", "save")]
    [InlineData("Save", "save")]
    [InlineData("SaveSlices", "save")]
    [InlineData("MergeV2Checkpoints", "save")]
    [InlineData("RestoreV2", "restore")]
    [InlineData("Restore", "restore")]
    [InlineData("RestoreSlice", "restore")]
    [InlineData("ShardedFilename", "save")]
    public async Task A_checkpoint_op_outside_the_saver_is_suspicious(string op, string part)
    {
        // The serving signature's output waits on the op (a control input), so every prediction runs it.
        var nodes = Tf1Nodes(Node("exfil/prefix", "Const"), Node("exfil/op", op, "exfil/prefix", "w"), Node("out", "Identity", "y", "^exfil/op"));

        var report = await ScanAsync(SavedModel(MetaGraph(Graph(nodes), Tf1Saver, outputs: ["out:0"])), "saved_model.pb");

        var finding = Assert.Single(report.Findings);
        Assert.Equal(("tf.checkpoint-op", ScanLevel.Suspicious), (finding.Rule, finding.Level));
        Assert.Contains($"node 'exfil/op' is {op} outside the SaverDef's {part} subgraph", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_SaveV2_hung_on_the_restore_op_is_suspicious_because_the_loader_runs_restore()
    {
        var nodes = Tf1Nodes(Node("exfil/SaveV2", "SaveV2", "save/Const", "w"));
        nodes[nodes.FindIndex(n => n.ToArray().AsSpan().IndexOf("save/restore_all"u8) >= 0)] = Node("save/restore_all", "NoOp", "^save/Assign", "^exfil/SaveV2");

        var report = await ScanAsync(SavedModel(MetaGraph(Graph(nodes), Tf1Saver, outputs: ["y:0"])), "saved_model.pb");

        Assert.Equal("tf.checkpoint-op", Assert.Single(report.Findings).Rule);
        Assert.Contains("'exfil/SaveV2'", report.Findings[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Checkpoint_ops_nothing_runs_are_not_judged_like_an_older_savers_subgraph()
    {
        // Building a second tf.train.Saver (SavedModelBuilder does) leaves the first one's save/ nodes in the graph, unrun.
        var older = new[] { Node("save_0/Const", "Const"), Node("save_0/SaveV2", "SaveV2", "save_0/Const", "w"), Node("save_0/RestoreV2", "RestoreV2", "save_0/Const") };

        var report = await ScanAsync(SavedModel(MetaGraph(Graph(Tf1Nodes(older)), Tf1Saver, outputs: ["y:0"])), "saved_model.pb");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Fact]
    public async Task A_checkpoint_op_the_main_op_runs_is_suspicious()
    {
        var nodes = Tf1Nodes(Node("init/prefix", "Const"), Node("init/SaveV2", "SaveV2", "init/prefix", "w"), Node("init/main_op", "NoOp", "^init/SaveV2"));

        var report = await ScanAsync(SavedModel(MetaGraph(Graph(nodes), Tf1Saver, outputs: ["y:0"], mainOps: ["init/main_op"])), "saved_model.pb");

        Assert.Contains("'init/SaveV2' is SaveV2", Assert.Single(report.Findings).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_SaverDefs_own_checkpoint_ops_are_suspicious_when_a_signature_also_runs_them()
    {
        var report = await ScanAsync(SavedModel(MetaGraph(Graph(Tf1Nodes()), Tf1Saver, outputs: ["y:0", "save/control_dependency:0"])), "saved_model.pb");

        Assert.Contains(report.Findings, f => f.Rule == "tf.checkpoint-op" && f.Message.Contains("'save/SaveV2'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_save_function_the_serving_graph_also_calls_is_outside_the_saver()
    {
        var report = await ScanAsync(Tf2([Node("MatMul", "MatMul", "x", "w")], graphNodes: [Call("serve_and_save", "__inference__traced_save_9", "x")]), "saved_model.pb");

        Assert.Equal(ScanLevel.Suspicious, report.Verdict);
        Assert.All(report.Findings, f => Assert.Equal("tf.checkpoint-op", f.Rule));
        Assert.Contains(report.Findings, f => f.Message.Contains("is SaveV2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_SaveV2_in_a_serving_function_is_suspicious()
    {
        var report = await ScanAsync(Tf2([Node("MatMul", "MatMul", "x", "w"), Node("leak", "SaveV2", "x")]), "saved_model.pb");

        var finding = Assert.Single(report.Findings);
        Assert.Contains("of function '__inference_serving_7'", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Functions_the_save_function_calls_in_turn_belong_to_the_saver()
    {
        var helper = Function("__inference_save_shard_13", Node("SaveV2", "SaveV2", "prefix"));
        var save = TracedSave(Call("shard", "__inference_save_shard_13", "file_prefix"));

        var report = await ScanAsync(Tf2([Node("MatMul", "MatMul", "x", "w")], [helper], save: save), "saved_model.pb");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Fact]
    public async Task Calls_through_a_list_of_functions_are_followed()
    {
        // Case/If branches are list(func) attrs: the save function reaches its helper through one.
        var helper = Function("__inference_branch_15", Node("SaveV2", "SaveV2", "prefix"));
        var branches = new Proto().Message(1, new Proto().Message(9, new Proto().String(1, "__inference_branch_15")));
        var save = TracedSave(WithAttr(Node("case", "Case", "index"), "branches", branches));

        var safe = await ScanAsync(Tf2([Node("MatMul", "MatMul", "x", "w")], [helper], save: save), "saved_model.pb");
        var outside = await ScanAsync(Tf2([WithAttr(Node("case", "Case", "x"), "branches", branches)], [helper]), "saved_model.pb");

        Assert.Equal(ScanLevel.Safe, safe.Verdict);
        Assert.Equal("tf.checkpoint-op", Assert.Single(outside.Findings).Rule);
    }

    [Fact]
    public async Task Functions_that_call_each_other_in_a_cycle_are_walked_once()
    {
        var a = Function("a", Call("to_b", "b"), PyFunc());
        var b = Function("b", Call("to_a", "a"));

        var report = await ScanAsync(Tf2([Call("enter", "a")], [a, b]), "saved_model.pb");

        Assert.Equal("tf.python-op", Assert.Single(report.Findings).Rule);
    }

    [Fact]
    public async Task Both_bodies_of_a_function_defined_twice_are_judged()
    {
        var report = await ScanAsync(Tf2([Call("enter", "twice")], [Function("twice", Node("ok", "Relu", "x")), Function("twice", PyFunc())]), "saved_model.pb");

        Assert.Equal("tf.python-op", Assert.Single(report.Findings).Rule);
    }

    [Fact]
    public async Task Every_meta_graph_is_judged_and_named()
    {
        var clean = MetaGraph(Graph(Tf1Nodes()), Tf1Saver, outputs: ["y:0"]);
        var evil = MetaGraph(Graph(Tf1Nodes(PyFunc())), Tf1Saver, outputs: ["y:0"]);

        var report = await ScanAsync(SavedModel(clean, evil), "saved_model.pb");

        Assert.Contains("Meta graph 1's node 'py' is PyFunc", Assert.Single(report.Findings).Message, StringComparison.Ordinal);
    }

    // ---- Keras metadata

    [Fact]
    public async Task Keras_metadata_of_built_in_layers_is_safe()
    {
        var report = await ScanAsync(Sequential(Layer("Dense"), Layer("Dropout"), Layer("BatchNormalization")), "keras_metadata.pb");

        Assert.Equal(("keras-metadata", ScanLevel.Safe), (report.Format, report.Verdict));
        Assert.Empty(report.Findings);
    }

    [Fact]
    public async Task A_Lambda_layer_in_keras_metadata_is_dangerous_and_reported_once()
    {
        var report = await ScanAsync(Sequential(Layer("Dense"), LambdaLayer), "keras_metadata.pb");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        var finding = Assert.Single(report.Findings);
        Assert.Equal("keras.lambda", finding.Rule);
        Assert.StartsWith("Keras object 'root.layer-2': ", finding.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("MyAttention", "_tf_keras_layer")]
    [InlineData("ResidualBlock", "_tf_keras_rnn_layer")]
    [InlineData("MyModel", "_tf_keras_model")]
    [InlineData("Custom>MyLayer", "_tf_keras_layer")]
    [InlineData("my_package>F1Score", "_tf_keras_metric")]
    public async Task A_class_Keras_does_not_ship_is_a_custom_object(string className, string identifier)
    {
        var report = await ScanAsync(KerasMetadata((identifier, Layer(className))), "keras_metadata.pb");

        var finding = Assert.Single(report.Findings);
        Assert.Equal(("keras.custom-object", ScanLevel.Suspicious), (finding.Rule, finding.Level));
        Assert.Contains($"'{className}'", finding.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("keras>Dense", "_tf_keras_layer")]
    [InlineData("MeanMetricWrapper", "_tf_keras_metric")]
    [InlineData("Functional", "_tf_keras_network")]
    public async Task A_class_Keras_ships_or_registers_is_not_a_custom_object(string className, string identifier)
    {
        var report = await ScanAsync(KerasMetadata((identifier, Layer(className))), "keras_metadata.pb");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Fact]
    public async Task A_reference_into_a_dangerous_module_in_keras_metadata_is_judged_as_in_a_keras_config()
    {
        var dense = Layer("Dense", new Dictionary<string, object?>
        {
            ["name"] = "dense",
            ["activation"] = new Dictionary<string, object?> { ["module"] = "os", ["class_name"] = "function", ["config"] = "system" },
        });

        var report = await ScanAsync(Sequential(dense), "keras_metadata.pb");

        Assert.Equal(("keras.dangerous-module", ScanLevel.Dangerous), (report.Findings[0].Rule, report.Verdict));
    }

    [Fact]
    public async Task Keras_metadata_that_is_not_json_is_a_bad_config()
    {
        var report = await ScanAsync(KerasMetadata(("_tf_keras_layer", "{\"class_name\": \"Dense\", ")), "keras_metadata.pb");

        Assert.Equal(("keras.bad-config", ScanLevel.Invalid), (Assert.Single(report.Findings).Rule, report.Verdict));
    }

    [Fact]
    public async Task A_Lambda_layer_in_the_object_graphs_user_objects_is_dangerous()
    {
        // TensorFlow 2.0-2.4 wrote the Keras metadata into SavedUserObject.metadata (field 3).
        var objectGraph = new Proto().Message(1, new Proto().Message(4, new Proto().String(1, "_tf_keras_layer").String(3, LambdaLayer)));

        var report = await ScanAsync(Tf2([Node("MatMul", "MatMul", "x", "w")], objectGraph: objectGraph), "saved_model.pb");

        Assert.Equal(("keras.lambda", ScanLevel.Dangerous), (Assert.Single(report.Findings).Rule, report.Verdict));
        Assert.StartsWith("Keras object 'object graph node 0': ", report.Findings[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task User_objects_that_are_not_Keras_objects_are_not_read_as_Keras_metadata()
    {
        var objectGraph = new Proto().Message(1, new Proto().Message(4, new Proto().String(1, "trackable_dict_wrapper").String(3, LambdaLayer)));

        var report = await ScanAsync(Tf2([Node("MatMul", "MatMul", "x", "w")], objectGraph: objectGraph), "saved_model.pb");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    // ---- protobuf TensorFlow does not parse: inert, nothing in it runs

    [Fact]
    public async Task A_truncated_SavedModel_is_inert_whatever_it_held()
    {
        var model = Tf1(PyFunc());

        var report = await ScanAsync(model[..(model.Length * 2 / 3)], "saved_model.pb");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
        Assert.True(report.IsInert);
        Assert.DoesNotContain(report.Findings, f => f.Rule == "tf.python-op");
    }

    [Fact]
    public async Task A_wire_type_protobuf_does_not_define_fails_the_parse_and_the_content_is_inert()
    {
        byte[] badNode = [.. Node("y", "Relu", "x").ToArray(), (9 << 3) | 7];
        var graph = new Proto().Message(1, PyFunc()).Bytes(1, badNode);

        var report = await ScanAsync(SavedModel(MetaGraph(graph)), "saved_model.pb");

        Assert.Equal((SavedModelFormat, ScanLevel.Safe), (report.Format, report.Verdict));
        Assert.True(report.IsInert);
        Assert.Equal(["tf.corrupt", InertContent.Rule], report.Findings.Select(f => f.Rule));
        Assert.Contains("wire type 7", report.Findings[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Messages_nested_deeper_than_protobufs_recursion_limit_do_not_parse()
    {
        var report = await ScanAsync(SavedModel(MetaGraph(Graph([PyFunc(), WithAttr(Node("deep", "Identity", "x"), "a", NestedFunc(40))]))), "saved_model.pb");

        Assert.True(report.IsInert);
        Assert.Contains("deeper than 100", report.Findings[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Messages_nested_within_the_recursion_limit_are_read()
    {
        // SavedModel > MetaGraphDef > GraphDef > NodeDef > attr entry > AttrValue, then three levels per nested func: 5 + 3·30 < 100.
        var report = await ScanAsync(SavedModel(MetaGraph(Graph([PyFunc(), WithAttr(Node("deep", "Identity", "x"), "a", NestedFunc(30))]))), "saved_model.pb");

        Assert.Equal("tf.python-op", Assert.Single(report.Findings).Rule);
    }

    private static Proto NestedFunc(int levels)
    {
        var value = StringAttr("leaf");
        for (var i = 0; i < levels; i++)
        {
            value = new Proto().Message(10, new Proto().String(1, "f").Message(2, new Proto().String(1, "a").Message(2, value)));
        }
        return value;
    }

    [Fact]
    public async Task A_length_past_the_end_of_its_message_fails_the_parse()
    {
        byte[] graph = [.. new Proto().Message(1, PyFunc()).ToArray(), 0x0a, 0xff, 0xff, 0xff, 0xff, 0x07, 0x0a, 0x01, (byte)'n'];

        var report = await ScanAsync(SavedModel(new Proto().Bytes(2, graph)), "saved_model.pb");

        Assert.True(report.IsInert);
        Assert.Equal("tf.corrupt", report.Findings[0].Rule);
        Assert.Contains("past the end of its message", report.Findings[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_field_number_zero_fails_the_parse()
    {
        byte[] node = [.. PyFunc().ToArray(), 0x02, 0x00];

        var report = await ScanAsync(SavedModel(MetaGraph(new Proto().Bytes(1, node))), "saved_model.pb");

        Assert.True(report.IsInert);
    }

    [Fact]
    public async Task A_known_field_with_another_wire_type_is_skipped_as_protobuf_skips_unknown_fields()
    {
        // NodeDef.op (field 2) written as a varint: protobuf keeps it as an unknown field, and the node's op stays empty.
        var node = new Proto().String(1, "odd").Varint(2, 5);
        byte[] grouped = [.. Node("g", "Relu", "x").ToArray(), (15 << 3) | 3, (1 << 3) | 0, 7, (15 << 3) | 4];

        var report = await ScanAsync(SavedModel(MetaGraph(Graph([node, PyFunc()]).Bytes(1, grouped))), "saved_model.pb");

        Assert.Equal("tf.python-op", Assert.Single(report.Findings).Rule);
    }

    [Fact]
    public async Task An_end_group_without_its_start_fails_the_parse()
    {
        byte[] node = [.. PyFunc().ToArray(), (15 << 3) | 4];

        var report = await ScanAsync(SavedModel(MetaGraph(new Proto().Bytes(1, node))), "saved_model.pb");

        Assert.True(report.IsInert);
    }

    [Fact]
    public async Task A_name_too_long_to_read_does_not_hide_the_op()
    {
        var node = WithAttr(new Proto().String(1, new string('n', 70_000)).String(2, "PyFunc"), "token", StringAttr("t"));

        var report = await ScanAsync(SavedModel(MetaGraph(Graph([node]))), "saved_model.pb");

        Assert.Contains("'(overlong)' is PyFunc", Assert.Single(report.Findings).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_keras_metadata_is_inert()
    {
        var metadata = Sequential(LambdaLayer);

        var report = await ScanAsync(metadata[..(metadata.Length - 20)], "keras_metadata.pb");

        Assert.True(report.IsInert);
    }

    // ---- recognition

    [Fact]
    public async Task Top_level_fields_a_SavedModel_does_not_have_leave_it_to_the_graph_name_rule()
    {
        var model = new Proto().Varint(1, 1).Message(2, MetaGraph(Graph([PyFunc()]))).String(9, "extra").ToArray();

        var report = await ScanAsync(model, "saved_model.pb");

        Assert.Equal(("data", ScanLevel.Suspicious), (report.Format, report.Verdict));
        Assert.Equal("container.unrecognised", Assert.Single(report.Findings).Rule);
    }

    [Fact]
    public async Task An_ONNX_model_is_still_read_as_ONNX()
    {
        var report = await ScanAsync(Proto.Model(new Proto().Message(1, Proto.Node("Relu")).String(2, "main")), "model.onnx");

        Assert.Equal("onnx", report.Format);
    }

    [Theory]
    [InlineData(new byte[] { 0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x0a, 0x00 }, true)]
    [InlineData(new byte[] { 0x12, 0x04, 0x0a, 0x02, 0x22, 0x00 }, true)]
    [InlineData(new byte[] { 0x08, 0x08, 0x12, 0x07, (byte)'p', (byte)'y', (byte)'t', (byte)'o', (byte)'r', (byte)'c', (byte)'h' }, false)]
    [InlineData(new byte[] { 0x08, 0x01, 0x12, 0x00 }, false)]
    [InlineData(new byte[] { 0x0a, 0x03, 0x0a, 0x01, (byte)'n' }, false)]
    public void A_SavedModel_head_opens_with_meta_graphs(byte[] head, bool expected) =>
        Assert.Equal(expected, SavedModelReader.LooksLikeSavedModel(head));

    // ---- fingerprint.pb (fingerprint.proto FingerprintDef: hashes 1-5, VersionDef 6, UUID 7)

    private static Proto Fingerprint() => new Proto().Varint(1, 0x9E3779B97F4A7C15).Varint(2, 12345).Varint(3, 1).Varint(4, 2).Varint(5, 0xFEDCBA9876543210)
        .Message(6, new Proto().Varint(1, 1)).String(7, "6f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b");

    [Fact]
    public async Task A_SavedModels_fingerprint_is_hashes_and_is_safe_under_its_pb_name()
    {
        var report = await ScanAsync(Fingerprint().ToArray(), "fingerprint.pb");

        Assert.Equal(("tensorflow-fingerprint", ScanLevel.Safe), (report.Format, report.Verdict));
        Assert.Empty(report.Findings);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(7)]
    [InlineData(6)]
    public async Task Content_that_only_starts_like_a_fingerprint_keeps_the_graph_name_rule(int field)
    {
        // An unknown field, a UUID that is none, or a version holding a string: not the FingerprintDef TensorFlow writes.
        var content = new Proto().Varint(1, 5).Varint(2, 6);
        _ = field switch
        {
            8 => content.String(8, "graph"),
            7 => content.String(7, "not-a-uuid"),
            _ => content.Message(6, new Proto().String(4, "op")),
        };

        var report = await ScanAsync(content.ToArray(), "fingerprint.pb");

        Assert.Equal(("data", "container.unrecognised"), (report.Format, Assert.Single(report.Findings).Rule));
    }

    // ---- inside archives

    [Fact]
    public async Task A_SavedModel_directory_in_a_zip_is_scanned_by_member()
    {
        var zip = TestZip.Standard(("model/saved_model.pb", Tf1(PyFunc())), ("model/keras_metadata.pb", Sequential(Layer("Dense"))), ("model/variables/variables.index", Array.Empty<byte>()));

        var report = await ScanAsync(zip, "model.zip");

        var finding = Assert.Single(report.Findings);
        Assert.Equal(("tf.python-op", "model/saved_model.pb"), (finding.Rule, finding.Path));
    }

    [Fact]
    public async Task A_SavedModel_directory_in_a_tar_is_scanned_by_member()
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true))
        {
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "model/keras_metadata.pb") { DataStream = new MemoryStream(Sequential(LambdaLayer)) });
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "model/saved_model.pb") { DataStream = new MemoryStream(Tf1()) });
        }

        var report = await ScanAsync(output.ToArray(), "model.tar");

        var finding = Assert.Single(report.Findings);
        Assert.Equal(("keras.lambda", "model/keras_metadata.pb"), (finding.Rule, finding.Path));
    }

    // ---- the wire walker

    [Fact]
    public void The_walker_reads_varints_text_and_nested_messages_and_skips_the_rest()
    {
        var message = new Proto().Varint(1, 300).String(2, "hello").Message(3, new Proto().String(1, "inner")).Bytes(4, new byte[100]).ToArray();
        var wire = new ProtoWire(message);
        var seen = new List<string>();

        wire.ReadFields((field, type) => field switch
        {
            1 => Add(seen, $"varint {wire.ReadVarint()}"),
            2 => Add(seen, $"text {wire.ReadText(64)}"),
            3 => Read(() => wire.ReadMessage((f, _) => Add(seen, $"inner {f} {wire.ReadText(64)}"))),
            4 => Add(seen, $"long {wire.ReadText(64) ?? "null"}"),
            _ => false,
        });

        Assert.Equal(["varint 300", "text hello", "inner 1 inner", "long null"], seen);
    }

    [Fact]
    public void The_walker_refuses_content_that_ends_inside_a_field()
    {
        var message = new Proto().String(2, "hello").ToArray();

        var error = Record.Exception(() => new ProtoWire(message[..^1]).ReadFields((_, _) => false));

        Assert.True(error is not null && ScanContext.IsBrokenContent(error), $"{error?.GetType().Name}: {error?.Message}");
    }

    [Fact]
    public void The_walker_refuses_a_length_past_two_to_the_31_as_protobuf_does()
    {
        // Field 6, length-delimited, length varint 0xFFFFFFFF0F: read as an int it is -1 (the property test's find).
        byte[] message = [0x32, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x08, 0x01];

        var error = Record.Exception(() => new ProtoWire(message).ReadFields((_, _) => false));

        Assert.True(error is not null && ScanContext.IsBrokenContent(error), $"{error?.GetType().Name}: {error?.Message}");
    }

    private static bool Add(List<string> seen, string item)
    {
        seen.Add(item);
        return true;
    }

    private static bool Read(Action read)
    {
        read();
        return true;
    }
}
