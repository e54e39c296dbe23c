using System.Text;
using Gatehouse.Scanning.Containers;
using PureHDF;
using static Gatehouse.Scanning.Tests.Containers.TestContent;

namespace Gatehouse.Scanning.Tests.Containers;

/// <summary>
/// Keras v3 .keras configs and legacy H5 model_config: Lambda layers carry marshalled bytecode (CVE-2024-3660), module
/// references are imported even in safe mode (CVE-2025-1550), the legacy H5 loader ignored safe mode (CVE-2025-9905);
/// a model of built-in layers only is corpus case B10.
/// </summary>
public sealed class KerasReaderTests
{
    private const string DenseLayer =
        """{"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 10, "activation": "relu", "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}}, "registered_name": null, "build_config": {"input_shape": [null, 4]}}""";

    private static string Sequential(params string[] layers) =>
        $$$"""{"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "layers": [{{{string.Join(", ", layers)}}}]}, "registered_name": null, "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {"learning_rate": 0.001}, "registered_name": null}, "loss": "mse"}}""";

    private static byte[] KerasArchive(string config) => TestZip.Standard(
        ("metadata.json", """{"keras_version": "3.8.0", "date_saved": "2025-01-01@00:00:00"}"""u8.ToArray()),
        ("config.json", Encoding.UTF8.GetBytes(config)),
        ("model.weights.h5", WeightsH5()));

    private static byte[] WeightsH5()
    {
        var file = new H5File { ["layers"] = new H5Group { ["dense"] = new H5Group { ["vars"] = new H5Group { ["0"] = new float[] { 1, 2, 3, 4 } } } } };
        using var output = new MemoryStream();
        file.Write(output);
        return output.ToArray();
    }

    [Fact]
    public async Task B10_a_model_of_built_in_layers_is_safe()
    {
        var report = await ScanAsync(KerasArchive(Sequential(DenseLayer, DenseLayer)), "model.keras");

        Assert.Equal("keras", report.Format);
        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Fact]
    public async Task A_lambda_layer_nested_inside_a_functional_model_is_dangerous()
    {
        var lambda = """{"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l", "function": {"class_name": "__lambda__", "config": {"value": ["4wEAAAAA", null, null]}}}, "registered_name": null}""";
        var inner = $$$"""{"module": "keras.src.models.functional", "class_name": "Functional", "config": {"layers": [{"class_name": "Bidirectional", "module": "keras.layers", "config": {"layer": {{{lambda}}}}}]}, "registered_name": null}""";

        var report = await ScanAsync(KerasArchive(Sequential(DenseLayer, inner)), "model.keras");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.Contains(report.Findings, f => f.Rule == "keras.lambda" && f.Path == "config.json");
    }

    [Theory]
    [InlineData("""{"module": "keras.config", "class_name": "function", "config": "enable_unsafe_deserialization", "registered_name": "function"}""")]
    [InlineData("""{"module": "keras.utils", "class_name": "function", "config": "get_file", "registered_name": "function"}""")]
    [InlineData("""{"module": "keras.models", "class_name": "function", "config": "load_model", "registered_name": "function"}""")]
    [InlineData("""{"module": "keras.src.backend.common.global_state", "class_name": "function", "config": "set_global_attribute", "registered_name": "function"}""")]
    [InlineData("""{"module": "keras.layers", "class_name": "TorchModuleWrapper", "config": {"module": "gASV..."}, "registered_name": null}""")]
    public async Task Keras_own_functions_that_defeat_safe_mode_are_dangerous(string gadget)
    {
        var layer = $$"""{"module": "keras.layers", "class_name": "Activation", "config": {"activation": {{gadget}}}, "registered_name": null}""";

        var report = await ScanAsync(KerasArchive(Sequential(layer)), "model.keras");

        Assert.Contains(report.Findings, f => f.Rule == "keras.unsafe-gadget" && f.Level == ScanLevel.Dangerous);
    }

    [Fact]
    public async Task A_string_that_names_enable_unsafe_deserialization_anywhere_is_dangerous()
    {
        var layer = """{"module": "keras.layers", "class_name": "Dense", "config": {"name": "keras.config.enable_unsafe_deserialization"}, "registered_name": null}""";

        var report = await ScanAsync(KerasArchive(Sequential(layer)), "model.keras");

        Assert.Contains(report.Findings, f => f.Rule == "keras.unsafe-gadget");
    }

    [Theory]
    [InlineData("os", "function", "system", ScanLevel.Dangerous, "keras.dangerous-module")]
    [InlineData("subprocess", "Popen", null, ScanLevel.Dangerous, "keras.dangerous-module")]
    [InlineData("builtins", "function", "eval", ScanLevel.Dangerous, "keras.dangerous-module")]
    [InlineData("my_company.layers", "AttentionBlock", null, ScanLevel.Suspicious, "keras.foreign-module")]
    [InlineData("__main__", "MyLayer", null, ScanLevel.Suspicious, "keras.custom-object")]
    public async Task Module_references_outside_keras_are_judged_by_what_importing_them_does(string module, string className, string? functionName, ScanLevel level, string rule)
    {
        var config = functionName is null ? "{}" : $"\"{functionName}\"";
        var layer = $$"""{"module": "{{module}}", "class_name": "{{className}}", "config": {{config}}, "registered_name": null}""";

        var report = await ScanAsync(KerasArchive(Sequential(layer)), "model.keras");

        Assert.Contains(report.Findings, f => f.Rule == rule && f.Level == level);
    }

    [Fact]
    public async Task Keras_team_libraries_and_builtin_function_names_are_not_foreign()
    {
        var backbone = """{"module": "keras_hub.src.models.gemma.gemma_backbone", "class_name": "GemmaBackbone", "config": {}, "registered_name": "keras_hub>GemmaBackbone"}""";
        var activation = """{"module": "keras.layers", "class_name": "Activation", "config": {"activation": {"module": "builtins", "class_name": "function", "config": "relu", "registered_name": "relu"}}, "registered_name": null}""";

        var report = await ScanAsync(KerasArchive(Sequential(backbone, activation)), "model.keras");

        Assert.DoesNotContain(report.Findings, f => f.Rule.StartsWith("keras.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_custom_registered_object_is_suspicious()
    {
        var layer = """{"module": null, "class_name": "MyLayer", "config": {}, "registered_name": "MyPackage>MyLayer"}""";

        var report = await ScanAsync(KerasArchive(Sequential(layer)), "model.keras");

        Assert.Contains(report.Findings, f => f.Rule == "keras.custom-object" && f.Level == ScanLevel.Suspicious);
    }

    [Fact]
    public async Task A_config_that_is_not_json_is_invalid()
    {
        var report = await ScanAsync(KerasArchive("{\"module\": \"keras\", "), "model.keras");

        Assert.Contains(report.Findings, f => f.Rule == "keras.bad-config" && f.Level == ScanLevel.Invalid);
    }

    private static byte[] H5(string modelConfig)
    {
        var file = new H5File { Attributes = { ["model_config"] = modelConfig, ["keras_version"] = "2.15.0" } };
        using var output = new MemoryStream();
        file.Write(output);
        return output.ToArray();
    }

    [Fact]
    public async Task B10_a_legacy_h5_model_of_built_in_layers_is_safe()
    {
        var config = """{"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"batch_input_shape": [null, 4]}}, {"class_name": "Dense", "config": {"units": 2, "activation": "relu"}}]}}""";

        var report = await ScanAsync(H5(config), "model.h5");

        Assert.Equal("keras-h5", report.Format);
        Assert.Equal(ScanLevel.Safe, report.Verdict);
    }

    [Fact]
    public async Task A_lambda_in_a_legacy_h5_model_is_dangerous_because_that_loader_ignores_safe_mode()
    {
        var config = """{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"function": ["4wEAAAAAAAAAAAAAAAEAAAAC", null, null], "function_type": "lambda"}}]}}""";

        var report = await ScanAsync(H5(config), "model.h5");

        Assert.Equal(ScanLevel.Dangerous, report.Verdict);
        Assert.Contains(report.Findings, f => f.Rule == "keras.lambda");
    }

    [Fact]
    public async Task An_hdf5_file_without_the_model_config_keras_expects_is_inert_to_load_model()
    {
        var file = new H5File { Attributes = { ["note"] = "weights only" } };
        using var output = new MemoryStream();
        file.Write(output);

        var report = await ScanAsync(output.ToArray(), "weights.h5");

        Assert.Equal("hdf5", report.Format);
        Assert.Equal(ScanLevel.Safe, report.Verdict);
        Assert.True(report.IsInert);
        Assert.Contains("model_config", Assert.Single(report.Findings, f => f.Rule == InertContent.Rule).Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, byte[], string> UnopenableWeights => new()
    {
        { "empty", [], "h5py" },
        { "not HDF5", Encoding.ASCII.GetBytes("version https://git-lfs.github.com/spec/v1\n"), "h5py" },
        { "an HDF5 signature with superblock version 34", [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A, 0x22, 0, 0, 0], "superblock version 34" },
        // Found by AFL++ (tests/fuzz/crashes/keras/crashes-id-000015): PureHDF threw on it where h5py refuses to open it.
        { "a version 0 superblock with 28-byte lengths", Superblock(version: 0, addresses: 8, lengths: 28), "28-byte lengths" },
        { "a version 2 superblock with 3-byte addresses", Superblock(version: 2, addresses: 3, lengths: 8), "3-byte addresses" },
    };

    /// <summary>An HDF5 signature and a superblock prefix whose sizes of offsets and lengths are as given.</summary>
    private static byte[] Superblock(byte version, byte addresses, byte lengths)
    {
        var bytes = new byte[96];
        new byte[] { 0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A }.CopyTo(bytes, 0);
        bytes[8] = version;
        var sizes = version < 2 ? 13 : 9;
        bytes[sizes] = addresses;
        bytes[sizes + 1] = lengths;
        return bytes;
    }

    [Fact]
    public async Task An_h5_structure_PureHDF_does_not_implement_fails_closed_as_corrupt_not_as_a_scanner_fault()
    {
        // Found by AFL++ (tests/fuzz/crashes/keras/crashes-id-000016): PureHDF threw NotSupportedException deep in the file.
        var bytes = await File.ReadAllBytesAsync(Path.Combine(Gatehouse.TestHelpers.RepositoryPaths.Root, "tests", "fuzz", "crashes", "keras", "crashes-id-000016"));

        var report = await ScanAsync(bytes, "model.keras");

        Assert.Equal(ScanLevel.Invalid, report.Verdict);
        Assert.Contains(report.Findings, f => f.Rule == ContainerRules.Corrupt);
        Assert.DoesNotContain(report.Findings, f => f.Rule == ContainerRules.ScannerError);
    }

    [Fact]
    public async Task An_h5_with_addresses_wider_than_the_scanner_reads_fails_closed_instead_of_passing()
    {
        var report = await ScanAsync(Superblock(version: 0, addresses: 16, lengths: 8), "weights.h5");

        Assert.Equal(ScanLevel.Invalid, report.Verdict);
        Assert.Contains("16-byte addresses", Assert.Single(report.Findings, f => f.Rule == ContainerRules.Corrupt).Message, StringComparison.Ordinal);
        Assert.DoesNotContain(report.Findings, f => f.Rule == ContainerRules.ScannerError);
    }

    [Theory]
    [MemberData(nameof(UnopenableWeights))]
    public async Task A_keras_archive_whose_weights_h5py_cannot_open_is_inert_and_its_config_is_still_judged(string what, byte[] weights, string reason)
    {
        byte[] Archive(string config) => TestZip.Standard(
            ("metadata.json", """{"keras_version": "3.8.0"}"""u8.ToArray()), ("config.json", Encoding.UTF8.GetBytes(config)), ("model.weights.h5", weights));

        var clean = await ScanAsync(Archive(Sequential(DenseLayer)), "model.keras");
        var lambda = await ScanAsync(Archive(Sequential(DenseLayer, """{"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l", "function": {"class_name": "__lambda__", "config": {"value": ["4wEAAAAA", null, null]}}}, "registered_name": null}""")), "model.keras");

        Assert.True(clean.Verdict == ScanLevel.Safe, $"{what}: {string.Join("; ", clean.Findings)}");
        var inert = Assert.Single(clean.Findings, f => f.Rule == InertContent.Rule);
        Assert.Equal("model.weights.h5", inert.Path);
        Assert.Contains(reason, inert.Message, StringComparison.Ordinal);
        Assert.Equal(ScanLevel.Dangerous, lambda.Verdict);
    }

    [Fact]
    public async Task Keras_weights_in_the_layout_keras_writes_are_not_labelled_inert()
    {
        var report = await ScanAsync(KerasArchive(Sequential(DenseLayer)), "model.keras");

        Assert.Equal(ScanLevel.Safe, report.Verdict);
        Assert.False(report.IsInert);
    }
}
