using System.Text;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// ONNX models, read with a small protobuf wire-format walker (no generated code): only the messages that matter are
/// entered, everything else is skipped by its length. Two risks: initializers whose <c>external_data</c> location leaves
/// the model's directory (absolute paths, drive letters, <c>..</c>: CVE-2022-25882, CVE-2024-27318), which makes the
/// runtime read any file on load; and operators from domains outside the standard ones, which need a native kernel
/// library to be loaded. Model-local functions define their own domain out of standard operators and are not custom.
/// Subgraphs (If, Loop, Scan bodies), training graphs and function bodies are walked to a bounded depth.
/// </summary>
internal static class OnnxReader
{
    /// <summary>Rules with the reason each matters.</summary>
    public static class Rules
    {
        /// <summary>Tensor data read from outside the model directory: arbitrary file read at load time.</summary>
        public const string ExternalDataTraversal = "onnx.external-data-traversal";
        /// <summary>An operator domain with no kernels in the standard runtimes: it needs a native library to be loaded.</summary>
        public const string CustomDomain = "onnx.custom-domain";
        /// <summary>The protobuf is malformed: runtimes refuse it or read it differently.</summary>
        public const string Corrupt = "onnx.corrupt";
    }

    /// <summary>The domains the ONNX spec and ONNX Runtime ship kernels for.</summary>
    internal static readonly IReadOnlySet<string> StandardDomains = new HashSet<string>(StringComparer.Ordinal)
    {
        "", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training", "com.microsoft",
    };

    /// <summary>Messages nested deeper than this (subgraphs in subgraphs) are refused.</summary>
    private const int MaxDepth = 64;

    /// <summary>Names, domains and locations longer than this are not read into memory.</summary>
    private const int MaxStringBytes = 64 * 1024;

    private enum Message
    {
        Model,
        Graph,
        Node,
        Attribute,
        Tensor,
        SparseTensor,
        ExternalDataEntry,
        OperatorSet,
        TrainingInfo,
        Function,
    }

    /// <summary>Which fields of which message lead to a message the walker enters.</summary>
    private static readonly Dictionary<(Message, int), Message> Children = new()
    {
        [(Message.Model, 7)] = Message.Graph,
        [(Message.Model, 8)] = Message.OperatorSet,
        [(Message.Model, 20)] = Message.TrainingInfo,
        [(Message.Model, 25)] = Message.Function,
        [(Message.Graph, 1)] = Message.Node,
        [(Message.Graph, 5)] = Message.Tensor,
        [(Message.Graph, 15)] = Message.SparseTensor,
        [(Message.Node, 5)] = Message.Attribute,
        [(Message.Attribute, 5)] = Message.Tensor,
        [(Message.Attribute, 6)] = Message.Graph,
        [(Message.Attribute, 10)] = Message.Tensor,
        [(Message.Attribute, 11)] = Message.Graph,
        [(Message.Attribute, 22)] = Message.SparseTensor,
        [(Message.Attribute, 23)] = Message.SparseTensor,
        [(Message.Tensor, 13)] = Message.ExternalDataEntry,
        [(Message.SparseTensor, 1)] = Message.Tensor,
        [(Message.SparseTensor, 2)] = Message.Tensor,
        [(Message.TrainingInfo, 1)] = Message.Graph,
        [(Message.TrainingInfo, 2)] = Message.Graph,
        [(Message.Function, 7)] = Message.Node,
        [(Message.Function, 9)] = Message.OperatorSet,
        [(Message.Function, 11)] = Message.Attribute,
    };

    /// <summary>ModelProto's top-level fields and their wire types, for telling an ONNX file by content.</summary>
    private static readonly Dictionary<int, int> ModelFields = new()
    {
        [1] = 0,
        [2] = 2,
        [3] = 2,
        [4] = 2,
        [5] = 0,
        [6] = 2,
        [7] = 2,
        [8] = 2,
        [14] = 2,
        [20] = 2,
        [25] = 2,
        [30] = 2,
    };

    /// <summary>
    /// True when the content is a ModelProto: it opens with a small <c>ir_version</c>, every top-level field is a
    /// ModelProto field of the right wire type, the fields end exactly at the end, and there is a graph.
    /// </summary>
    public static bool IsModel(Stream seekable)
    {
        if (seekable.Length < 2)
        {
            return false;
        }
        seekable.Position = 0;
        try
        {
            var cursor = new ByteCursor(seekable, seekable.Length);
            if (cursor.ReadVarint() != (1 << 3) || cursor.ReadVarint() is 0 or > 100)
            {
                return false;
            }
            var hasGraph = false;
            while (cursor.Remaining > 0)
            {
                var tag = cursor.ReadVarint();
                var field = (int)Math.Min(tag >> 3, int.MaxValue);
                var wire = (int)(tag & 7);
                if (!ModelFields.TryGetValue(field, out var expected) || expected != wire)
                {
                    return false;
                }
                if (wire == 0)
                {
                    cursor.ReadVarint();
                    continue;
                }
                var length = cursor.ReadVarint();
                if (length > (ulong)cursor.Remaining)
                {
                    return false;
                }
                cursor.Skip((long)length);
                hasGraph |= field == 7;
            }
            return hasGraph;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            return false;
        }
        finally
        {
            seekable.Position = 0;
        }
    }

    /// <summary>Walks the model; <paramref name="seekable"/> is read from its start.</summary>
    public static void Scan(ScanContext context, Stream seekable, string? path)
    {
        seekable.Position = 0;
        new Walk(context, path, new ByteCursor(seekable, seekable.Length)).Run();
    }

    private sealed class Walk(ScanContext context, string? path, ByteCursor cursor)
    {
        private readonly Dictionary<string, string> _usedDomains = new(StringComparer.Ordinal);
        private readonly HashSet<string> _functionDomains = new(StringComparer.Ordinal);

        public void Run()
        {
            WalkMessage(Message.Model, cursor.Length, 0, new MessageState());
            foreach (var (domain, example) in _usedDomains)
            {
                if (!StandardDomains.Contains(domain) && !_functionDomains.Contains(domain))
                {
                    context.Add(Rules.CustomDomain, ScanLevel.Suspicious,
                        $"Operator domain '{domain}' ({example}) is not a standard ONNX or ONNX Runtime domain: running the model needs a custom native kernel library.", path);
                }
            }
        }

        /// <summary>What a message collects from its own fields before it is judged.</summary>
        private sealed class MessageState
        {
            public string? Text1;
            public string? Text2;
            public long DataLocation;
            public readonly List<(string? Key, string? Value)> ExternalData = [];
        }

        private void WalkMessage(Message kind, long end, int depth, MessageState state)
        {
            if (depth > MaxDepth)
            {
                throw new ContainerFormatException(Rules.Corrupt, $"Messages nest deeper than {MaxDepth} (subgraphs within subgraphs).");
            }
            while (cursor.Position < end)
            {
                context.ThrowIfCancelled();
                var tag = cursor.ReadVarint();
                var field = (int)Math.Min(tag >> 3, int.MaxValue);
                switch (tag & 7)
                {
                    case 0:
                        var value = cursor.ReadVarint();
                        if (kind == Message.Tensor && field == 14)
                        {
                            state.DataLocation = (long)Math.Min(value, long.MaxValue);
                        }
                        break;
                    case 1:
                        cursor.Skip(8);
                        break;
                    case 5:
                        cursor.Skip(4);
                        break;
                    case 2:
                        var length = cursor.ReadVarint();
                        if (length > (ulong)(end - cursor.Position))
                        {
                            throw new ContainerFormatException(Rules.Corrupt, $"Field {field} runs past the end of its message.");
                        }
                        var fieldEnd = cursor.Position + (long)length;
                        if (Children.TryGetValue((kind, field), out var child))
                        {
                            var childState = new MessageState();
                            WalkMessage(child, fieldEnd, depth + 1, childState);
                            Close(child, childState, state);
                        }
                        else if (IsText(kind, field))
                        {
                            var text = ReadText((long)length);
                            if (field == TextField1(kind))
                            {
                                state.Text1 = text;
                            }
                            else
                            {
                                state.Text2 = text;
                            }
                        }
                        else
                        {
                            cursor.Skip((long)length);
                        }
                        break;
                    default:
                        throw new ContainerFormatException(Rules.Corrupt, $"Wire type {tag & 7} (groups) does not occur in ONNX.");
                }
            }
            if (cursor.Position != end)
            {
                throw new ContainerFormatException(Rules.Corrupt, "A field runs past the end of its message.");
            }
        }

        /// <summary>Judges a finished message and hands what its parent needs upward.</summary>
        private void Close(Message kind, MessageState state, MessageState parent)
        {
            switch (kind)
            {
                case Message.Node:
                    // Text1 = op_type (4), Text2 = domain (7).
                    Use(state.Text2 ?? "", $"operator '{state.Text1}'");
                    break;
                case Message.OperatorSet:
                    Use(state.Text1 ?? "", "opset_import");
                    break;
                case Message.Function:
                    // Text1 = name (1), Text2 = domain (10).
                    _functionDomains.Add(state.Text2 ?? "");
                    break;
                case Message.ExternalDataEntry:
                    parent.ExternalData.Add((state.Text1, state.Text2));
                    break;
                case Message.Tensor:
                    CheckExternalData(state);
                    break;
            }
        }

        private void Use(string domain, string example) => _usedDomains.TryAdd(domain, example);

        private void CheckExternalData(MessageState tensor)
        {
            var name = tensor.Text1 ?? "(unnamed)";
            var locations = tensor.ExternalData.Where(e => e.Key == "location").Select(e => e.Value ?? "").ToList();
            if (tensor.DataLocation == 1 && locations.Count == 0)
            {
                context.Add(Rules.Corrupt, ScanLevel.Invalid, $"Initializer '{name}' stores its data externally but names no location.", path);
            }
            foreach (var location in locations)
            {
                if (LeavesModelDirectory(location))
                {
                    context.Add(Rules.ExternalDataTraversal, ScanLevel.Dangerous,
                        $"Initializer '{name}' reads its data from '{location}', outside the model's directory: loading the model reads that file.", path);
                }
            }
        }

        private static bool IsText(Message kind, int field) => (kind, field) switch
        {
            (Message.Node, 4 or 7) => true,
            (Message.OperatorSet, 1) => true,
            (Message.Function, 1 or 10) => true,
            (Message.ExternalDataEntry, 1 or 2) => true,
            (Message.Tensor, 8) => true,
            _ => false,
        };

        private static int TextField1(Message kind) => kind switch
        {
            Message.Node => 4,
            Message.Tensor => 8,
            _ => 1,
        };

        private string ReadText(long length)
        {
            if (length > MaxStringBytes)
            {
                cursor.Skip(length);
                return "(overlong)";
            }
            return Encoding.UTF8.GetString(cursor.ReadBytes((int)length));
        }
    }

    /// <summary>Absolute, drive-qualified, UNC, home-relative, a URL, or climbing with "..": not inside the model directory.</summary>
    internal static bool LeavesModelDirectory(string location)
    {
        if (location.Length == 0)
        {
            return false;
        }
        var normal = location.Replace('\\', '/');
        return normal[0] is '/' or '~'
            || normal.Contains('\0')
            || normal.Contains(':')
            || normal.Split('/').Any(segment => segment == "..");
    }
}
