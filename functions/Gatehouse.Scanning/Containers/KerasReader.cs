using System.Text.Json;
using PureHDF;

namespace Gatehouse.Scanning.Containers;

/// <summary>
/// Keras models: the v3 <c>.keras</c> zip's <c>config.json</c> (reached through <see cref="TorchZipReader"/>) and the
/// legacy HDF5 file's root attribute <c>model_config</c> (read with PureHDF). Both are JSON object graphs that Keras
/// turns into live objects; every nested object is judged, not just the top-level layers. Lambda layers carry
/// marshalled bytecode; <c>module</c>/<c>registered_name</c> references make Keras import modules, even in safe mode
/// before 3.9 (CVE-2025-1550); and Keras' own functions can be used as gadgets that switch safe mode off, download a
/// file or load another model. A model built only from Keras' own layers is Safe.
/// </summary>
internal static class KerasReader
{
    /// <summary>Rules with the reason each matters.</summary>
    public static class Rules
    {
        /// <summary>A Lambda layer or serialized lambda: marshalled Python bytecode that runs (CVE-2024-3660; H5 ignores safe_mode, CVE-2025-9905).</summary>
        public const string Lambda = "keras.lambda";
        /// <summary>A Keras function or class that defeats safe mode, downloads, loads another model or unpickles (CVE-2025-9906, CVE-2025-8747, CVE-2025-49655).</summary>
        public const string UnsafeGadget = "keras.unsafe-gadget";
        /// <summary>A reference into a module that runs commands, opens files or the network: imported and called on load.</summary>
        public const string DangerousModule = "keras.dangerous-module";
        /// <summary>A reference to a module outside Keras: imported on load even in safe mode before Keras 3.9 (CVE-2025-1550).</summary>
        public const string ForeignModule = "keras.foreign-module";
        /// <summary>A custom object: the loading program must supply its code, which the file cannot vouch for.</summary>
        public const string CustomObject = "keras.custom-object";
        /// <summary>The config is not the JSON Keras reads: the model does not load, or loads differently.</summary>
        public const string BadConfig = "keras.bad-config";
    }

    /// <summary>Namespaces whose objects Keras resolves through its own export table or the Keras-team libraries' registrations.</summary>
    private static readonly string[] KerasNamespaces = ["keras", "keras_hub", "keras_nlp", "keras_cv", "tf_keras"];

    /// <summary>Keras' own functions and classes that are gadgets, each with why (matched by full name, or by name under any Keras module).</summary>
    internal static readonly IReadOnlyDictionary<string, string> Gadgets = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["enable_unsafe_deserialization"] = "switches safe mode off for the rest of the load (CVE-2025-9906)",
        ["set_global_attribute"] = "can set safe_mode_saving to False from inside the archive (CVE-2025-9906)",
        ["get_file"] = "downloads a file from a URL chosen by the model (CVE-2025-8747)",
        ["load_model"] = "loads a second model, with safe_mode chosen by the first",
        ["func_load"] = "turns marshalled bytecode into a function",
        ["TorchModuleWrapper"] = "restores a torch module with torch.load, a pickle (CVE-2025-49655)",
    };

    /// <summary>Module roots that run commands, load code, or reach files and the network when imported and called.</summary>
    private static readonly HashSet<string> DangerousModules = new(StringComparer.Ordinal)
    {
        "os", "posix", "nt", "subprocess", "sys", "importlib", "runpy", "shutil", "socket", "pickle", "_pickle", "marshal",
        "ctypes", "code", "codeop", "pty", "webbrowser", "requests", "urllib", "urllib2", "urllib3", "http", "httplib",
        "ftplib", "telnetlib", "smtplib", "multiprocessing", "asyncio", "threading", "tempfile", "pathlib", "io", "glob",
        "pip", "setuptools", "distutils", "torch", "numpy", "dill", "joblib", "cloudpickle", "operator", "functools",
    };

    /// <summary>Python builtins that run code or touch files when Keras resolves a "builtins" function by name.</summary>
    private static readonly HashSet<string> DangerousBuiltins = new(StringComparer.Ordinal)
    {
        "eval", "exec", "compile", "open", "__import__", "getattr", "setattr", "delattr", "globals", "locals", "vars",
        "breakpoint", "input", "exit", "quit", "help", "memoryview", "type", "object", "super", "classmethod", "staticmethod", "property",
    };

    /// <summary>Deeper JSON than any model config; refused rather than walked.</summary>
    private const int MaxDepth = 512;

    /// <summary>Judges a <c>config.json</c> (or an H5 <c>model_config</c>) and every object nested in it.</summary>
    public static void ScanConfig(ScanContext context, byte[] json, string? path)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            // Keras' json.loads decodes the bytes strictly and raises UnicodeDecodeError before building anything.
            context.Add(Rules.BadConfig, ScanLevel.Invalid, "The model config is not valid UTF-8, so Keras cannot read it.", path);
            return;
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException e)
        {
            context.Add(Rules.BadConfig, ScanLevel.Invalid, $"The model config is not valid JSON: {e.Message}", path);
            return;
        }
        using (document)
        {
            try
            {
                Walk(context, document.RootElement, path);
            }
            catch (InvalidOperationException e)
            {
                // A \uD800-style escape (a lone surrogate): Python reads it, .NET cannot make a string of it, so it is not judged.
                context.Add(Rules.BadConfig, ScanLevel.Invalid, $"The model config holds a string the scanner cannot decode ({e.Message}); it was not judged.", path);
            }
        }
    }

    /// <summary>Judges every object and string of the config, depth first, without recursion.</summary>
    private static void Walk(ScanContext context, JsonElement root, string? path)
    {
        var pending = new Stack<JsonElement>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            context.ThrowIfCancelled();
            var element = pending.Pop();
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    JudgeObject(context, element, path);
                    foreach (var property in element.EnumerateObject())
                    {
                        pending.Push(property.Value);
                    }
                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        pending.Push(item);
                    }
                    break;
                case JsonValueKind.String:
                    var text = element.GetString()!;
                    if (text.Contains("enable_unsafe_deserialization", StringComparison.Ordinal))
                    {
                        context.Add(Rules.UnsafeGadget, ScanLevel.Dangerous, $"The config names '{Shorten(text)}', which {Gadgets["enable_unsafe_deserialization"]}.", path);
                    }
                    break;
            }
        }
    }

    /// <summary>
    /// Reads the root attributes <c>model_config</c> and <c>training_config</c> of a legacy H5 model; returns the format.
    /// A superblock h5py cannot open, or a file without <c>model_config</c>, is inert to Keras and reported as such.
    /// </summary>
    public static string ScanH5(ScanContext context, Stream seekable, string? path, string? name = null)
    {
        if (UnopenableSuperblock(seekable) is { } why)
        {
            context.Add(InertContent.Rule, ScanLevel.Safe, $"inert: h5py.File would fail: {why}, so Keras reads nothing from it.", path);
            return "hdf5";
        }
        if (WideSuperblockFields(seekable) is { } wide)
        {
            // HDF5 opens 16- and 32-byte addresses; PureHDF reads up to 8, so such a file cannot be judged: fail closed.
            context.Add(ContainerRules.Corrupt, ScanLevel.Invalid, $"The HDF5 superblock uses {wide}, which Gatehouse cannot read; it is not known to be safe.", path);
            return "hdf5";
        }
        seekable.Position = 0;
        try
        {
            return ReadH5(context, seekable, path, name);
        }
        catch (NotSupportedException e)
        {
            // PureHDF refuses structures it does not implement (and some it cannot make sense of): not judged, so not safe.
            context.Add(ContainerRules.Corrupt, ScanLevel.Invalid, $"The HDF5 file uses a structure Gatehouse cannot read ({e.Message}); it is not known to be safe.", path);
            return "hdf5";
        }
    }

    private static string ReadH5(ScanContext context, Stream seekable, string? path, string? name)
    {
        using var file = H5File.Open(seekable, leaveOpen: true);
        var found = false;
        foreach (var attributeName in new[] { "model_config", "training_config" })
        {
            if (!file.AttributeExists(attributeName))
            {
                continue;
            }
            found = true;
            var attribute = file.Attribute(attributeName);
            // h5py writes str attributes as variable-length strings, older Keras as fixed-length bytes.
            if (attribute.Type.Class is not (H5DataTypeClass.String or H5DataTypeClass.VariableLength))
            {
                context.Add(Rules.BadConfig, ScanLevel.Invalid, $"The H5 attribute '{attributeName}' is not a string, so Keras cannot read it.", path);
                continue;
            }
            var text = ReadStringAttribute(attribute, context.Limits.MaxInspectedArgumentBytes, attributeName);
            ScanConfig(context, System.Text.Encoding.UTF8.GetBytes(text), path);
        }
        if (!found && path is null && name is not null && Path.GetExtension(name) is var extension
            && (extension.Equals(".h5", StringComparison.OrdinalIgnoreCase) || extension.Equals(".hdf5", StringComparison.OrdinalIgnoreCase)))
        {
            // keras/src/legacy/saving/legacy_h5_format.py load_model_from_hdf5 raises "No model found in config file"
            // without model_config; weights loading (H5IOStore, load_weights) reads datasets only.
            context.Add(InertContent.Rule, ScanLevel.Safe,
                "inert: the HDF5 file has no model_config attribute, so Keras' H5 load_model fails before building anything, and load_weights only reads arrays.", path);
        }
        return found ? "keras-h5" : "hdf5";
    }

    /// <summary>
    /// Why h5py cannot open the file (H5Fsuper.c reads superblock versions 0 to 3 only, after the signature at 0, 512,
    /// 1024 …), or null when the superblock looks openable and PureHDF must read it.
    /// </summary>
    private static string? UnopenableSuperblock(Stream seekable)
    {
        ReadOnlySpan<byte> signature = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A];
        Span<byte> probe = stackalloc byte[9];
        for (long offset = 0; offset + 8 <= seekable.Length; offset = offset == 0 ? 512 : offset * 2)
        {
            seekable.Position = offset;
            var read = ScanContext.ReadAtMost(seekable, probe);
            if (read < 8 || !probe[..8].SequenceEqual(signature))
            {
                continue;
            }
            if (read < 9)
            {
                return $"the file ends right after the HDF5 signature at offset {offset}";
            }
            if (probe[8] > 3)
            {
                return $"superblock version {probe[8]} at offset {offset} is none of the versions 0-3 HDF5 defines";
            }
            return SuperblockSizes(seekable, offset, probe[8]) is var (addresses, lengths) && !(IsHdf5FieldSize(addresses) && IsHdf5FieldSize(lengths))
                ? $"the superblock at offset {offset} gives {addresses}-byte addresses and {lengths}-byte lengths, and HDF5 takes only 2, 4, 8, 16 or 32"
                : null;
        }
        return null;
    }

    /// <summary>
    /// The sizes of offsets and of lengths in the superblock at <paramref name="offset"/> (H5Fsuper_cache.c: after the
    /// signature, version 0 and 1 put them at bytes 13 and 14, versions 2 and 3 at 9 and 10), or null when the file ends first.
    /// </summary>
    private static (int Addresses, int Lengths)? SuperblockSizes(Stream seekable, long offset, byte version)
    {
        Span<byte> fields = stackalloc byte[2];
        seekable.Position = offset + (version < 2 ? 13 : 9);
        return ScanContext.ReadAtMost(seekable, fields) == 2 ? (fields[0], fields[1]) : null;
    }

    /// <summary>H5F__superblock_prefix_decode refuses any other size of an address or a length ("bad byte number").</summary>
    private static bool IsHdf5FieldSize(int size) => size is 2 or 4 or 8 or 16 or 32;

    /// <summary>Addresses or lengths wider than 8 bytes, which HDF5 opens and PureHDF does not read; null when none.</summary>
    private static string? WideSuperblockFields(Stream seekable)
    {
        ReadOnlySpan<byte> signature = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A];
        Span<byte> probe = stackalloc byte[9];
        for (long offset = 0; offset + 9 <= seekable.Length; offset = offset == 0 ? 512 : offset * 2)
        {
            seekable.Position = offset;
            if (ScanContext.ReadAtMost(seekable, probe) == 9 && probe[..8].SequenceEqual(signature))
            {
                return SuperblockSizes(seekable, offset, probe[8]) is var (addresses, lengths) && (addresses > 8 || lengths > 8)
                    ? $"{addresses}-byte addresses and {lengths}-byte lengths"
                    : null;
            }
        }
        return null;
    }

    private static string ReadStringAttribute(IH5Attribute attribute, int maxBytes, string name)
    {
        // A fixed-length string's size is in its type; a variable-length one is read and then measured.
        if (attribute.Type.Size > maxBytes)
        {
            throw new ScanLimitException(ContainerRules.SizeLimit, $"The H5 attribute '{name}' is larger than {maxBytes:N0} bytes and was not read.", null);
        }
        var text = attribute.Space.Dimensions.Length == 0 ? attribute.Read<string>() : string.Concat(attribute.Read<string[]>());
        if (text.Length > maxBytes)
        {
            throw new ScanLimitException(ContainerRules.SizeLimit, $"The H5 attribute '{name}' is larger than {maxBytes:N0} bytes and was not judged.", null);
        }
        return text;
    }

    /// <summary>One serialized object: <c>class_name</c>, <c>module</c>, <c>registered_name</c>, <c>config</c>.</summary>
    private static void JudgeObject(ScanContext context, JsonElement element, string? path)
    {
        var className = StringProperty(element, "class_name");
        if (className is null)
        {
            return;
        }
        var module = StringProperty(element, "module");
        var registered = StringProperty(element, "registered_name");
        var config = element.TryGetProperty("config", out var c) ? c : default;
        // A function is serialized as class_name "function" with its name as the config.
        var name = className == "function" && config.ValueKind == JsonValueKind.String ? config.GetString()! : className;
        var reference = module is null ? name : $"{module}.{name}";

        if (className is "Lambda" or "__lambda__")
        {
            context.Add(Rules.Lambda, ScanLevel.Dangerous,
                $"'{reference}' is a {(className == "Lambda" ? "Lambda layer" : "serialized lambda")}: its function is Python bytecode or a callable reference that runs when the model loads or is called.", path);
        }
        var gadget = Gadgets.Keys.FirstOrDefault(g => name == g || (registered?.EndsWith(g, StringComparison.Ordinal) ?? false));
        if (gadget is not null && (module is null || IsKeras(module)))
        {
            context.Add(Rules.UnsafeGadget, ScanLevel.Dangerous, $"The config references '{reference}', which {Gadgets[gadget]}.", path);
            return;
        }
        if (module is null || IsKeras(module))
        {
            CheckRegisteredName(context, registered, reference, path);
            return;
        }
        var root = module.Split('.')[0];
        if (module == "builtins")
        {
            if (DangerousBuiltins.Contains(name))
            {
                context.Add(Rules.DangerousModule, ScanLevel.Dangerous, $"The config references 'builtins.{name}', which Keras hands to the model as a callable.", path);
            }
            return;
        }
        if (module == "__main__")
        {
            context.Add(Rules.CustomObject, ScanLevel.Suspicious, $"'{reference}' is a custom object from the saving program: its code comes from whoever loads it.", path);
            return;
        }
        if (DangerousModules.Contains(root))
        {
            context.Add(Rules.DangerousModule, ScanLevel.Dangerous, $"The config references '{reference}': Keras imports '{module}' and calls into it on load.", path);
            return;
        }
        context.Add(Rules.ForeignModule, ScanLevel.Suspicious,
            $"The config references '{reference}': Keras imports '{module}' on load (even in safe mode before 3.9), and its code is not Keras'.", path);
    }

    private static void CheckRegisteredName(ScanContext context, string? registered, string reference, string? path)
    {
        // Registered names are "package>Name"; Keras' own objects are unregistered or registered under Keras packages.
        var separator = registered?.IndexOf('>') ?? -1;
        if (separator > 0 && !KerasNamespaces.Contains(registered![..separator]))
        {
            context.Add(Rules.CustomObject, ScanLevel.Suspicious,
                $"'{reference}' is registered as '{registered}', a custom object: its code comes from whoever loads it.", path);
        }
    }

    /// <summary>True for the package of a registered name ("keras>Dense") that is Keras' own or a Keras-team library's.</summary>
    internal static bool IsKerasPackage(string package) => KerasNamespaces.Contains(package);

    private static bool IsKeras(string module) =>
        KerasNamespaces.Any(ns => module == ns || module.StartsWith(ns + ".", StringComparison.Ordinal));

    private static string? StringProperty(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Shorten(string text) => text.Length <= 120 ? text : text[..120] + "…";
}
