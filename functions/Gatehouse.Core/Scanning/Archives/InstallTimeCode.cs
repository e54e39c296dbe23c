using System.Text;
using System.Text.RegularExpressions;

namespace Gatehouse.Scanning.Archives;

/// <summary>
/// Code that runs without anyone importing the package: <c>.pth</c> lines that site.py executes at every interpreter
/// start, <c>sitecustomize</c>, compiled or native payloads outside the package's own modules, and obfuscated
/// exec/eval in setup.py or stray top-level modules.
/// </summary>
public static partial class InstallTimeCode
{
    /// <summary>Rules with the reason each is dangerous.</summary>
    public static class Rules
    {
        /// <summary>site.py executes any .pth line that starts with "import" at every interpreter start.</summary>
        public const string PthExec = "install.pth-exec";
        /// <summary>sitecustomize/usercustomize run at every interpreter start.</summary>
        public const string SiteCustomize = "install.sitecustomize";
        /// <summary>Bytecode or native code outside the distribution's own packages hides what runs.</summary>
        public const string ForeignBinary = "install.foreign-binary";
        /// <summary>Bytecode shipped without its source cannot be reviewed.</summary>
        public const string BytecodeWithoutSource = "install.bytecode-without-source";
        /// <summary>Decoding a blob and executing it is how droppers hide their payload.</summary>
        public const string ObfuscatedExec = "code.obfuscated-exec";
        /// <summary>setup.py that downloads at build time runs code nobody reviewed.</summary>
        public const string SetupNetwork = "install.setup-network";
    }

    private const int MaxSourceBytes = 1024 * 1024;

    // exec/eval/compile fed by a decoder: base64, zlib, marshal, rot13, hex, or a reversed string.
    [GeneratedRegex(@"\b(exec|eval)\s*\(\s*(compile\s*\()?[^\n]{0,200}?(b64decode|b32decode|b85decode|a85decode|decodebytes|zlib\.decompress|lzma\.decompress|bz2\.decompress|marshal\.loads|codecs\.decode|bytes\.fromhex|\[::-1\])", RegexOptions.CultureInvariant)]
    private static partial Regex DecodedExec();

    [GeneratedRegex(@"[A-Za-z0-9+/=]{4096,}", RegexOptions.CultureInvariant)]
    private static partial Regex LongBase64();

    [GeneratedRegex(@"\b(urllib\.request|urlopen|requests\.(get|post)|http\.client|socket\.socket|urllib3)\b", RegexOptions.CultureInvariant)]
    private static partial Regex Network();

    private static readonly string[] BinarySuffixes = [".pyc", ".pyo", ".so", ".pyd", ".dll", ".dylib", ".exe"];

    public static async Task<IReadOnlyList<Finding>> InspectAsync(Stream seekable, string fileName, CancellationToken cancellationToken)
    {
        var findings = new List<Finding>();
        var format = await ArchiveReader.SniffAsync(seekable, cancellationToken);
        if (format == ArchiveFormat.Unknown)
        {
            // Archive safety reports the unreadable container; nothing here can be checked.
            return findings;
        }
        var wheel = fileName.EndsWith(".whl", StringComparison.OrdinalIgnoreCase);
        var members = new List<string>();
        var pending = new List<Finding>();
        string? topLevel = null;
        await foreach (var (member, content) in ArchiveReader.ReadAsync(seekable, format, cancellationToken))
        {
            if (content is null)
            {
                continue;
            }
            var path = member.Path.Replace('\\', '/');
            members.Add(path);
            var name = path[(path.LastIndexOf('/') + 1)..];
            var inWheelRoot = wheel && (path == name || IsDataLib(path));
            if (name.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) && (inWheelRoot || !wheel))
            {
                // Only .pth files landing in site-packages are read by site.py; an sdist decides that at build time.
                var text = await ReadTextAsync(content, cancellationToken);
                CheckPth(path, text, wheel ? Severity.Dangerous : Severity.Suspicious, findings);
            }
            else if (wheel && path.EndsWith(".dist-info/top_level.txt", StringComparison.Ordinal))
            {
                topLevel = await ReadTextAsync(content, cancellationToken);
            }
            else if (name.EndsWith(".py", StringComparison.OrdinalIgnoreCase))
            {
                var stem = name[..^3];
                if ((inWheelRoot || !wheel && path.Count(c => c == '/') <= 1) && stem is "sitecustomize" or "usercustomize")
                {
                    findings.Add(new Finding(Rules.SiteCustomize, Severity.Dangerous, $"{path} replaces {stem}, which runs at every interpreter start.", path));
                }
                var text = await ReadTextAsync(content, cancellationToken);
                var isSetup = !wheel && name == "setup.py" && path.Count(c => c == '/') <= 1;
                CheckSource(path, text, isSetup, pending);
            }
        }
        var own = OwnTopLevelNames(members, topLevel);
        foreach (var path in members)
        {
            if (!BinarySuffixes.Any(s => path.EndsWith(s, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }
            var top = TopLevelName(path);
            if (wheel && !own.Contains(top))
            {
                findings.Add(new Finding(Rules.ForeignBinary, Severity.Suspicious, $"{path} is compiled code outside the distribution's own packages ({string.Join(", ", own.Order())}).", path));
            }
            else if (path.EndsWith(".pyc", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pyo", StringComparison.OrdinalIgnoreCase))
            {
                var source = path[..^4].Replace("/__pycache__/", "/", StringComparison.Ordinal);
                var dot = source.LastIndexOf('.');
                source = (dot > source.LastIndexOf('/') && source.Contains(".cpython", StringComparison.Ordinal) ? source[..dot] : source) + ".py";
                if (!members.Contains(source))
                {
                    findings.Add(new Finding(Rules.BytecodeWithoutSource, Severity.Suspicious, $"{path} is bytecode without its source.", path));
                }
            }
        }
        // Obfuscation inside the package's own modules is noted; at the root, in setup.py or a stray module it decides.
        foreach (var f in pending)
        {
            var ownModule = wheel && own.Contains(TopLevelName(f.Path!)) && f.Path!.Contains('/');
            findings.Add(ownModule ? f with { Severity = Severity.Info } : f);
        }
        return findings;
    }

    private static void CheckPth(string path, string text, Severity severity, List<Finding> findings)
    {
        var lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var line = raw.TrimEnd('\r');
            // site.addpackage: lines starting with "import " or "import\t" are exec()'d.
            if (line.StartsWith("import ", StringComparison.Ordinal) || line.StartsWith("import\t", StringComparison.Ordinal))
            {
                var shown = line.Length > 120 ? line[..120] + "…" : line;
                findings.Add(new Finding(Rules.PthExec, severity, $"{path} line {lineNo} runs code at every Python start: {shown}", path));
            }
        }
    }

    private static void CheckSource(string path, string text, bool isSetup, List<Finding> findings)
    {
        if (DecodedExec().Match(text) is { Success: true } m)
        {
            findings.Add(new Finding(Rules.ObfuscatedExec, Severity.Suspicious, $"{path} executes decoded data: {Shorten(m.Value)}", path, m.Index));
        }
        else if (LongBase64().Match(text) is { Success: true } b && Regex.IsMatch(text, @"\b(exec|eval)\s*\("))
        {
            findings.Add(new Finding(Rules.ObfuscatedExec, Severity.Suspicious, $"{path} carries a {b.Length}-character encoded blob next to exec/eval.", path, b.Index));
        }
        if (isSetup && Network().Match(text) is { Success: true } n)
        {
            findings.Add(new Finding(Rules.SetupNetwork, Severity.Suspicious, $"setup.py reaches the network at build time ({n.Value}).", path, n.Index));
        }
    }

    private static HashSet<string> OwnTopLevelNames(List<string> members, string? topLevelTxt)
    {
        var own = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in (topLevelTxt ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            own.Add(line.Split('/')[0]);
        }
        foreach (var m in members)
        {
            var top = TopLevelName(m);
            // A directory with __init__.py, a module, and the wheel's own metadata/data folders belong to it.
            if (m == top + "/__init__.py" || top.EndsWith(".dist-info", StringComparison.Ordinal) || top.EndsWith(".data", StringComparison.Ordinal)
                || (!m.Contains('/') && m.EndsWith(".py", StringComparison.Ordinal)))
            {
                own.Add(top);
            }
        }
        return own;
    }

    private static string TopLevelName(string path)
    {
        if (IsDataLib(path))
        {
            path = string.Join('/', path.Split('/').Skip(2));
        }
        var slash = path.IndexOf('/');
        var first = slash < 0 ? path : path[..slash];
        if (slash < 0)
        {
            var dot = first.IndexOf('.');
            return dot > 0 && !first.EndsWith(".dist-info", StringComparison.Ordinal) ? first[..dot] : first;
        }
        return first;
    }

    // {name}.data/purelib/… and …/platlib/… install into site-packages like the wheel root.
    private static bool IsDataLib(string path)
    {
        var parts = path.Split('/');
        return parts.Length >= 3 && parts[0].EndsWith(".data", StringComparison.Ordinal) && parts[1] is "purelib" or "platlib";
    }

    private static async Task<string> ReadTextAsync(Stream content, CancellationToken cancellationToken)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(MaxSourceBytes);
        try
        {
            var filled = 0;
            int read;
            while (filled < MaxSourceBytes && (read = await content.ReadAsync(buffer.AsMemory(filled, MaxSourceBytes - filled), cancellationToken)) > 0)
            {
                filled += read;
            }
            return Encoding.UTF8.GetString(buffer, 0, filled);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string Shorten(string s) => s.Length > 100 ? s[..100] + "…" : s;
}
