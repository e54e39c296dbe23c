using System.Text;
using Gatehouse.Scanning.Pickle;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// NVIDIA NeMo's <c>.nemo</c> archive: a tar (or tar.gz) holding <c>model_config.yaml</c> and <c>model_weights.ckpt</c>
/// (a torch checkpoint, scanned by the router like any member). <c>restore_from</c> (nemo/core/connectors/
/// save_restore_connector.py) imports the class named by the config's <c>target</c>, and Hydra's <c>instantiate</c>
/// imports and calls every <c>_target_</c> in it, with the sibling keys as arguments: each is judged as the pickle
/// engine judges a global. NeMo's own classes are its library, not the file's.
/// </summary>
internal static class NemoReader
{
    /// <summary>Rule: a <c>target</c>/<c>_target_</c> the loader imports and calls.</summary>
    public const string TargetRule = "nemo.target";

    /// <summary>Rule: the config is not YAML NeMo can read: the archive does not restore.</summary>
    public const string BadConfigRule = "nemo.bad-config";

    /// <summary>The config member's name, which NeMo writes as <c>./model_config.yaml</c>.</summary>
    public const string ConfigMember = "model_config.yaml";

    /// <summary>The largest config read into memory.</summary>
    private const int MaxConfigBytes = 4 * 1024 * 1024;

    /// <summary>Deeper flow nesting than any config: refused before YamlDotNet builds its node tree recursively.</summary>
    private const int MaxFlowDepth = 512;

    /// <summary>Keys whose string value Hydra or NeMo import and call.</summary>
    private static readonly string[] TargetKeys = ["_target_", "target"];

    /// <summary>Namespaces that are NeMo's own code (and the libraries it is built on that Hydra configs name).</summary>
    private static readonly string[] OwnNamespaces = ["nemo", "megatron.core", "lightning.pytorch", "pytorch_lightning"];

    public static bool IsConfig(string memberName) =>
        memberName.TrimStart('.', '/').Equals(ConfigMember, StringComparison.Ordinal);

    public static void ScanConfig(ScanContext context, Stream member, string path)
    {
        var buffer = new byte[MaxConfigBytes + 1];
        var length = ScanContext.ReadAtMost(member, buffer);
        if (length > MaxConfigBytes)
        {
            throw new ScanLimitException(ContainerRules.SizeLimit, $"{ConfigMember} is larger than {MaxConfigBytes:N0} bytes and was not parsed.", path);
        }
        if (FlowDepth(buffer.AsSpan(0, length)) > MaxFlowDepth)
        {
            throw new ScanLimitException(ContainerRules.SizeLimit, $"{ConfigMember} nests [ and {{ deeper than {MaxFlowDepth}; it was not parsed.", path);
        }
        var yaml = new YamlStream();
        try
        {
            yaml.Load(new StringReader(Encoding.UTF8.GetString(buffer, 0, length)));
        }
        catch (YamlException e)
        {
            context.Add(BadConfigRule, ScanLevel.Invalid, $"The model config is not valid YAML: {e.Message}", path);
            return;
        }
        var pending = new Stack<YamlNode>(yaml.Documents.Select(d => d.RootNode));
        var visited = new HashSet<YamlNode>(ReferenceEqualityComparer.Instance);
        while (pending.Count > 0)
        {
            context.ThrowIfCancelled();
            var node = pending.Pop();
            if (!visited.Add(node))
            {
                continue; // an alias to a node already walked
            }
            switch (node)
            {
                case YamlMappingNode mapping:
                    foreach (var (key, value) in mapping.Children)
                    {
                        if (key is YamlScalarNode { Value: { } name } && TargetKeys.Contains(name) && value is YamlScalarNode { Value: { } target })
                        {
                            Judge(context, name, target, path);
                        }
                        pending.Push(key);
                        pending.Push(value);
                    }
                    break;
                case YamlSequenceNode sequence:
                    foreach (var child in sequence.Children)
                    {
                        pending.Push(child);
                    }
                    break;
            }
        }
    }

    /// <summary>The deepest run of unclosed [ and { (quotes ignored, so an over-estimate).</summary>
    private static int FlowDepth(ReadOnlySpan<byte> text)
    {
        int depth = 0, max = 0;
        foreach (var b in text)
        {
            if (b is (byte)'[' or (byte)'{')
            {
                max = Math.Max(max, ++depth);
            }
            else if (b is (byte)']' or (byte)'}' && depth > 0)
            {
                depth--;
            }
        }
        return max;
    }

    private static void Judge(ScanContext context, string key, string target, string path)
    {
        if (OwnNamespaces.Any(ns => target.StartsWith(ns + ".", StringComparison.Ordinal)) && !target.Contains("__", StringComparison.Ordinal))
        {
            return;
        }
        var dot = target.LastIndexOf('.');
        if (dot <= 0 || dot == target.Length - 1)
        {
            context.Add(TargetRule, ScanLevel.Suspicious, $"'{key}: {target}' is not a dotted path NeMo can import; what it resolves to is unknown.", path);
            return;
        }
        var judgement = GlobalPolicy.Judge(target[..dot], target[(dot + 1)..]);
        if (judgement.Level == ScanLevel.Safe && judgement.Allowed?.Use == AllowedUse.Call)
        {
            return;
        }
        if (judgement.Level == ScanLevel.Safe)
        {
            // Allowed only as a value or built without __init__ in a pickle; Hydra calls it with the config's arguments.
            judgement = judgement with { Level = ScanLevel.Suspicious, Reason = $"allowed in pickles only as {judgement.Allowed!.Use}, but Hydra calls it" };
        }
        context.Add(new ModelFinding(TargetRule, judgement.Level,
            $"'{key}: {target}': restoring the model imports and calls it ({judgement.Reason}).", path, Global: target, CallSite: key));
    }
}
