using static Gatehouse.Scanning.Tests.Containers.TestContent;

namespace Gatehouse.Scanning.Tests.Containers;

/// <summary>
/// ONNX external-data traversal (CVE-2022-25882, CVE-2024-27318) and custom operator domains (they need native
/// kernels), read from the protobuf wire format.
/// </summary>
public sealed class OnnxReaderTests
{
    private static Proto Graph(params Proto[] nodes)
    {
        var graph = new Proto();
        foreach (var node in nodes)
        {
            graph.Message(1, node);
        }
        graph.String(2, "main");
        graph.Message(5, new Proto().Varint(1, 2).Varint(2, 1).String(8, "w").Bytes(9, new byte[8]));
        return graph;
    }

    [Fact]
    public async Task A_model_of_standard_operators_with_inline_weights_is_safe()
    {
        var report = await ScanAsync(Proto.Model(Graph(Proto.Node("Relu"), Proto.Node("Gemm"), Proto.Node("TreeEnsembleClassifier", "ai.onnx.ml"), Proto.Node("FusedMatMul", "com.microsoft")), "", "ai.onnx.ml"), "model.onnx");

        Assert.Equal("onnx", report.Format);
        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Theory]
    [InlineData("../../../../etc/passwd")]
    [InlineData("/etc/shadow")]
    [InlineData("C:\\Windows\\win.ini")]
    [InlineData("..\\..\\secrets.txt")]
    [InlineData("weights/../../outside.bin")]
    [InlineData("~/.ssh/id_rsa")]
    [InlineData("file:///etc/passwd")]
    public async Task External_data_outside_the_model_directory_is_dangerous(string location)
    {
        var graph = Graph(Proto.Node("Relu")).Message(5, Proto.ExternalInitializer("big", location));

        var report = await ScanAsync(Proto.Model(graph), "model.onnx");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.Equal("onnx.external-data-traversal", Assert.Single(report.Findings).Rule);
    }

    [Fact]
    public async Task External_data_beside_the_model_is_safe()
    {
        var graph = Graph(Proto.Node("Relu")).Message(5, Proto.ExternalInitializer("big", "model.onnx_data"));

        var report = await ScanAsync(Proto.Model(graph), "model.onnx");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Fact]
    public async Task A_custom_operator_domain_is_suspicious_whether_imported_or_used()
    {
        var report = await ScanAsync(Proto.Model(Graph(Proto.Node("Backdoor", "com.evil.ops")), "", "com.evil.ops"), "model.onnx");

        Assert.Equal(ScanLevel.Suspicious, report.Verdict);
        Assert.Contains(report.Findings, f => f.Rule == "onnx.custom-domain" && f.Message.Contains("com.evil.ops"));
    }

    [Fact]
    public async Task A_custom_domain_inside_a_subgraph_is_found()
    {
        var thenBranch = new Proto().Message(1, Proto.Node("Exfiltrate", "org.attacker"));
        var ifNode = Proto.Node("If").Message(5, new Proto().String(1, "then_branch").Varint(20, 5).Message(6, thenBranch));

        var report = await ScanAsync(Proto.Model(Graph(ifNode)), "model.onnx");

        Assert.Contains(report.Findings, f => f.Rule == "onnx.custom-domain" && f.Message.Contains("org.attacker"));
    }

    [Fact]
    public async Task External_data_inside_a_subgraph_attribute_is_found()
    {
        var body = new Proto().Message(5, Proto.ExternalInitializer("hidden", "/proc/self/environ"));
        var loop = Proto.Node("Loop").Message(5, new Proto().String(1, "body").Varint(20, 5).Message(6, body));

        var report = await ScanAsync(Proto.Model(Graph(loop)), "model.onnx");

        Assert.Contains(report.Findings, f => f.Rule == "onnx.external-data-traversal");
    }

    [Fact]
    public async Task A_domain_defined_by_a_model_local_function_is_not_custom()
    {
        var model = new Proto().Varint(1, 8)
            .Message(7, Graph(Proto.Node("MyGelu", "local.functions")))
            .Message(8, new Proto().String(1, "").Varint(2, 17))
            .Message(8, new Proto().String(1, "local.functions").Varint(2, 1))
            .Message(25, new Proto().String(1, "MyGelu").String(10, "local.functions").Message(7, Proto.Node("Erf")));

        var report = await ScanAsync(model.ToArray(), "model.onnx");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Fact]
    public async Task Subgraphs_nested_beyond_the_depth_limit_are_invalid()
    {
        var graph = new Proto().Message(1, Proto.Node("Relu"));
        for (var i = 0; i < 40; i++)
        {
            graph = new Proto().Message(1, Proto.Node("If").Message(5, new Proto().String(1, "g").Message(6, graph)));
        }

        var report = await ScanAsync(Proto.Model(graph), "model.onnx");

        Assert.Equal(ScanLevel.Invalid, report.Verdict);
        Assert.Contains(report.Findings, f => f.Rule == "onnx.corrupt");
    }

    [Fact]
    public async Task A_model_whose_last_length_runs_past_the_end_is_inert_because_protobuf_parsing_fails()
    {
        var model = Proto.Model(Graph(Proto.Node("Relu")));
        // Truncate inside the graph: ParseFromString fails on the length that runs past the end, so nothing loads.
        var report = await ScanAsync(model[..^3], "model.onnx");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
        Assert.Contains("onnxruntime", Assert.Single(report.Findings, f => f.Rule == InertContent.Rule).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_protobuf_that_parses_but_is_not_a_model_stays_unrecognised_under_an_onnx_name()
    {
        var report = await ScanAsync(new Proto().Varint(1, 1).Bytes(2, new byte[100]).ToArray(), "model.onnx");

        Assert.Equal(ScanLevel.Suspicious, report.Verdict);
    }

    [Fact]
    public async Task A_protobuf_that_is_not_a_model_proto_is_not_taken_for_onnx()
    {
        // A TensorFlow SavedModel starts the same way (field 1 varint, field 2 bytes) but has no graph field 7.
        var savedModel = new Proto().Varint(1, 1).Bytes(2, new byte[100]).ToArray();

        var report = await ScanAsync(savedModel, "variables.data");

        Assert.Equal("data", report.Format);
    }
}
