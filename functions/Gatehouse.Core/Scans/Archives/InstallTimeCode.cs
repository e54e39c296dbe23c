using System.Text;
using System.Text.RegularExpressions;

namespace Gatehouse.Scans.Archives;

/// <summary>
/// Code that runs without anyone importing the package: <c>.pth</c> lines that site.py executes at every interpreter
/// start, <c>sitecustomize</c>, compiled or native payloads outside the package's own modules, and obfuscated
/// exec/eval in setup.py or stray top-level modules. Member names are judged by where pip would install them.
/// </summary>
public static partial class InstallTimeCode
{
    /// <summary>Rules with the reason each is dangerous.</summary>
    public static class Rules
    {
        /// <summary>site.py executes any .pth line that starts with "import" at every interpreter start.</summary>
        public const string PthExec = "install.pth-exec";
        /// <summary>sitecustomize/usercustomize run at every interpreter start, as a module, a package or native code.</summary>
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

    // Source is scanned in windows this large, overlapping enough for any pattern below (except the blob, tracked apart).
    private const int Window = 1024 * 1024;
    private const int Overlap = 8 * 1024;
    private const int ShownLine = 120;

    // exec/eval/compile fed by a decoder: base64, zlib, marshal, rot13, hex, or a reversed string.
    [GeneratedRegex(@"\b(exec|eval)\s*\(\s*(compile\s*\()?[^\n]{0,200}?(b64decode|b32decode|b85decode|a85decode|decodebytes|zlib\.decompress|lzma\.decompress|bz2\.decompress|marshal\.loads|codecs\.decode|bytes\.fromhex|\[::-1\])", RegexOptions.CultureInvariant)]
    private static partial Regex DecodedExec();

    [GeneratedRegex(@"\b(exec|eval)\s*\(", RegexOptions.CultureInvariant)]
    private static partial Regex ExecCall();

    [GeneratedRegex(@"[A-Za-z0-9+/=]{4096,}", RegexOptions.CultureInvariant)]
    private static partial Regex LongBase64();

    [GeneratedRegex(@"\b(urllib\.request|urlopen|requests\.(get|post)|http\.client|socket\.socket|urllib3)\b", RegexOptions.CultureInvariant)]
    private static partial Regex Network();

    private static readonly string[] BinarySuffixes = [".pyc", ".pyo", ".so", ".pyd", ".dll", ".dylib", ".exe"];
    private static readonly string[] StartupModules = ["sitecustomize", "usercustomize"];

    // site.addpackage reads lines with str.splitlines (3.13) or universal newlines (≤3.12): every one of these ends a line.
    private static readonly char[] LineBreaks = ['\n', '\r', '\v', '\f', '\x1c', '\x1d', '\x1e', '\x85', '\u2028', '\u2029'];

    /// <summary>
    /// Whether the content is a wheel, and what in it runs at install or start-up. A wheel is told by content (a zip
    /// with a top-level <c>*.dist-info/WHEEL</c>) and judged by where pip installs its members; any other archive is
    /// judged like an sdist, relative to its top folder. Content that is no archive has nothing here.
    /// </summary>
    public static async Task<(bool IsWheel, IReadOnlyList<Finding> Findings)> InspectAsync(Stream seekable, CancellationToken cancellationToken)
    {
        var format = await ArchiveReader.SniffAsync(seekable, cancellationToken);
        if (format == ArchiveFormat.Unknown)
        {
            return (false, []);
        }
        var wheel = format == ArchiveFormat.Zip && await ArchiveReader.IsWheelAsync(seekable, cancellationToken);
        return (wheel, await InspectAsync(seekable, format, wheel, cancellationToken));
    }

    private static async Task<IReadOnlyList<Finding>> InspectAsync(Stream seekable, ArchiveFormat format, bool wheel, CancellationToken cancellationToken)
    {
        var inspector = new Inspector(wheel);
        await foreach (var (member, content) in ArchiveReader.ReadAsync(seekable, format, cancellationToken))
        {
            await inspector.VisitAsync(member, content, cancellationToken);
        }
        return inspector.Finish();
    }

    /// <summary>
    /// The check as a visitor of an archive walk (<see cref="ArchiveSafety.WalkAsync"/>): it is handed each member in
    /// turn, then <see cref="Finish"/> judges what needs the whole list.
    /// </summary>
    public sealed class Inspector(bool wheel) : IArchiveMemberVisitor
    {
        private readonly List<Finding> _findings = [];
        private readonly List<(string Path, string Site)> _installed = [];
        private readonly List<Finding> _pending = [];
        private readonly HashSet<string> _startup = new(StringComparer.Ordinal);
        private string? _topLevel;

        public async Task VisitAsync(ArchiveMember member, Stream? content, CancellationToken cancellationToken)
        {
            var path = member.Path;
            // Where it lands: a wheel member relative to site-packages (null for scripts/headers/data), an sdist member
            // relative to the project root inside the archive's top folder.
            var site = wheel ? SitePath(InstalledPath(path)) : SdistPath(InstalledPath(path));
            if (site is null || site.Length == 0)
            {
                return;
            }
            var top = TopLevelName(site);
            if (StartupModules.Contains(top) && _startup.Add(top))
            {
                _findings.Add(new Finding(Rules.SiteCustomize, wheel ? Severity.Dangerous : Severity.Suspicious,
                    $"{path} installs {top}, which runs at every interpreter start.", path));
            }
            if (content is null)
            {
                return;
            }
            _installed.Add((path, site));
            var name = site[(site.LastIndexOf('/') + 1)..];
            if (name.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) && (!wheel || !site.Contains('/')))
            {
                // Only .pth files in site-packages itself are read by site.py; an sdist decides that at build time.
                await CheckPthAsync(path, content, wheel ? Severity.Dangerous : Severity.Suspicious, _findings, cancellationToken);
            }
            else if (wheel && site.EndsWith(".dist-info/top_level.txt", StringComparison.Ordinal) && !site[..^"/top_level.txt".Length].Contains('/'))
            {
                using var reader = new StreamReader(content, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 4096, leaveOpen: true);
                var buffer = new char[64 * 1024];
                _topLevel = new string(buffer, 0, await reader.ReadBlockAsync(buffer, cancellationToken));
            }
            else if (name.EndsWith(".py", StringComparison.OrdinalIgnoreCase))
            {
                var isSetup = !wheel && site == "setup.py";
                await CheckSourceAsync(path, content, isSetup, _pending, cancellationToken);
            }
        }

        /// <summary>The findings, once every member was visited.</summary>
        public IReadOnlyList<Finding> Finish()
        {
            var findings = new List<Finding>(_findings);
            var own = OwnTopLevelNames(_installed.Select(m => m.Site), _topLevel);
            var sites = _installed.Select(m => m.Site).ToHashSet(StringComparer.Ordinal);
            foreach (var (path, site) in _installed)
            {
                if (!BinarySuffixes.Any(s => site.EndsWith(s, StringComparison.OrdinalIgnoreCase)))
                {
                    continue;
                }
                if (wheel && !own.Contains(TopLevelName(site)))
                {
                    findings.Add(new Finding(Rules.ForeignBinary, Severity.Suspicious, $"{path} is compiled code outside the distribution's own packages ({string.Join(", ", own.Order())}).", path));
                }
                else if ((site.EndsWith(".pyc", StringComparison.OrdinalIgnoreCase) || site.EndsWith(".pyo", StringComparison.OrdinalIgnoreCase)) && !sites.Contains(SourceOf(site)))
                {
                    findings.Add(new Finding(Rules.BytecodeWithoutSource, Severity.Suspicious, $"{path} is bytecode without its source.", path));
                }
            }
            // Obfuscation inside the package's own modules is noted; at the root, in setup.py or a stray module it decides.
            var siteOf = _installed.GroupBy(m => m.Path).ToDictionary(g => g.Key, g => g.First().Site);
            foreach (var f in _pending)
            {
                var site = siteOf[f.Path!];
                var ownModule = wheel && site.Contains('/') && own.Contains(TopLevelName(site));
                findings.Add(ownModule ? f with { Severity = Severity.Info } : f);
            }
            return findings;
        }
    }

    /// <summary>The path a member is written to: cut at NUL (as Python's file APIs do), empty and "." segments dropped.
    /// A backslash is an ordinary character on POSIX, so it is kept.</summary>
    internal static string InstalledPath(string memberName)
    {
        var nul = memberName.IndexOf('\0');
        var name = nul < 0 ? memberName : memberName[..nul];
        return string.Join('/', name.Split('/').Where(s => s.Length > 0 && s != "."));
    }

    /// <summary>A wheel member relative to site-packages: the root, or {name}.data/purelib|platlib/…; null for other .data.</summary>
    internal static string? SitePath(string installed)
    {
        var parts = installed.Split('/');
        if (parts[0].EndsWith(".data", StringComparison.Ordinal))
        {
            return parts.Length >= 3 && parts[1] is "purelib" or "platlib" ? string.Join('/', parts.Skip(2)) : null;
        }
        return installed;
    }

    // An sdist holds one top folder ({name}-{version}/); paths inside it are what a build sees.
    private static string SdistPath(string installed)
    {
        var slash = installed.IndexOf('/');
        return slash < 0 ? installed : installed[(slash + 1)..];
    }

    private static async Task CheckPthAsync(string path, Stream content, Severity severity, List<Finding> findings, CancellationToken cancellationToken)
    {
        // Read to the end, line by line, keeping only each line's start: the payload may hide after megabytes of padding.
        using var reader = new StreamReader(content, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 64 * 1024, leaveOpen: true);
        var buffer = new char[64 * 1024];
        var line = new StringBuilder();
        var lineNo = 1;
        var first = true;
        var previousCr = false;
        int read;
        while ((read = await reader.ReadAsync(buffer, cancellationToken)) > 0)
        {
            for (var i = 0; i < read; i++)
            {
                var c = buffer[i];
                if (first)
                {
                    first = false;
                    if (c == '\uFEFF')
                    {
                        continue; // Python 3.13 reads .pth as utf-8-sig.
                    }
                }
                if (c == '\n' && previousCr)
                {
                    previousCr = false;
                    continue; // "\r\n" is one line break.
                }
                previousCr = c == '\r';
                if (Array.IndexOf(LineBreaks, c) >= 0)
                {
                    CheckPthLine(path, line.ToString(), lineNo, severity, findings);
                    line.Clear();
                    lineNo++;
                }
                else if (line.Length < ShownLine + 1)
                {
                    line.Append(c);
                }
            }
        }
        CheckPthLine(path, line.ToString(), lineNo, severity, findings);
    }

    private static void CheckPthLine(string path, string line, int lineNo, Severity severity, List<Finding> findings)
    {
        // site.addpackage: lines starting with "import " or "import\t" are exec()'d.
        if (line.StartsWith("import ", StringComparison.Ordinal) || line.StartsWith("import\t", StringComparison.Ordinal))
        {
            var shown = line.Length > ShownLine ? line[..ShownLine] + "…" : line;
            findings.Add(new Finding(Rules.PthExec, severity, $"{path} line {lineNo} runs code at every Python start: {shown}", path));
        }
    }

    private static async Task CheckSourceAsync(string path, Stream content, bool isSetup, List<Finding> findings, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(content, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 64 * 1024, leaveOpen: true);
        var buffer = new char[Window + Overlap];
        var carried = 0;
        long consumed = 0;
        bool decoded = false, network = !isSetup, exec = false;
        Match? blob = null;
        while (true)
        {
            var read = await reader.ReadBlockAsync(buffer.AsMemory(carried, Window), cancellationToken);
            var length = carried + read;
            if (length == 0)
            {
                break;
            }
            var text = new string(buffer, 0, length);
            var start = consumed - carried;
            if (!decoded && DecodedExec().Match(text) is { Success: true } m)
            {
                findings.Add(new Finding(Rules.ObfuscatedExec, Severity.Suspicious, $"{path} executes decoded data: {Shorten(m.Value)}", path, start + m.Index));
                decoded = true;
            }
            exec |= ExecCall().IsMatch(text);
            blob ??= LongBase64().Match(text) is { Success: true } b ? b : null;
            if (!network && Network().Match(text) is { Success: true } n)
            {
                findings.Add(new Finding(Rules.SetupNetwork, Severity.Suspicious, $"setup.py reaches the network at build time ({n.Value}).", path, start + n.Index));
                network = true;
            }
            if (read == 0)
            {
                break;
            }
            consumed += read;
            carried = Math.Min(Overlap, length);
            Array.Copy(buffer, length - carried, buffer, 0, carried);
        }
        if (!decoded && exec && blob is not null)
        {
            findings.Add(new Finding(Rules.ObfuscatedExec, Severity.Suspicious, $"{path} carries a {blob.Length}-character encoded blob next to exec/eval.", path));
        }
    }

    private static HashSet<string> OwnTopLevelNames(IEnumerable<string> sites, string? topLevelTxt)
    {
        var own = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in (topLevelTxt ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            own.Add(line.Split('/')[0]);
        }
        foreach (var site in sites)
        {
            var top = TopLevelName(site);
            // A directory with __init__.py, a top-level module, and the wheel's own metadata belong to it.
            if (site == top + "/__init__.py" || top.EndsWith(".dist-info", StringComparison.Ordinal) || (!site.Contains('/') && site.EndsWith(".py", StringComparison.Ordinal)))
            {
                own.Add(top);
            }
        }
        own.ExceptWith(StartupModules);
        return own;
    }

    /// <summary>The import name a site-packages path provides: its first folder, or a file's name up to the first dot.</summary>
    internal static string TopLevelName(string site)
    {
        var slash = site.IndexOf('/');
        if (slash >= 0)
        {
            return site[..slash];
        }
        var dot = site.IndexOf('.');
        return dot > 0 && !site.EndsWith(".dist-info", StringComparison.Ordinal) ? site[..dot] : site;
    }

    private static string SourceOf(string bytecode)
    {
        var source = bytecode[..^4].Replace("/__pycache__/", "/", StringComparison.Ordinal);
        var dot = source.LastIndexOf('.');
        return (dot > source.LastIndexOf('/') && source.Contains(".cpython", StringComparison.Ordinal) ? source[..dot] : source) + ".py";
    }

    private static string Shorten(string s) => s.Length > 100 ? s[..100] + "…" : s;
}
