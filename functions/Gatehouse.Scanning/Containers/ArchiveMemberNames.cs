namespace Gatehouse.Scanning.Containers;

/// <summary>
/// Member names and links of zip, tar and 7z archives: traversal, links that escape, duplicates. Tar is judged harder
/// than zip because the tools that unpack model bundles (<c>tarfile.extractall</c> for .nemo and legacy torch, shell
/// scripts) write names and links as given, while zip extractors strip <c>..</c> and leading slashes.
/// </summary>
internal sealed class ArchiveMemberNames
{
    private readonly HashSet<string> _exact = new(StringComparer.Ordinal);
    private readonly HashSet<string> _folded = new(StringComparer.OrdinalIgnoreCase);
    private readonly ScanContext _context;
    private readonly string? _archivePath;
    private readonly bool _extractedAsGiven;

    /// <param name="extractedAsGiven">True for tar: its names and links are written to disk as they are.</param>
    public ArchiveMemberNames(ScanContext context, string? archivePath, bool extractedAsGiven)
    {
        _context = context;
        _archivePath = archivePath;
        _extractedAsGiven = extractedAsGiven;
    }

    /// <summary>Checks one member's name; reports a duplicate once per name.</summary>
    public void Check(string name)
    {
        var path = ScanContext.Child(_archivePath, name);
        if (EscapesRoot(name))
        {
            _context.Add(ContainerRules.PathTraversal, _extractedAsGiven ? ScanLevel.Dangerous : ScanLevel.Suspicious,
                $"Member name '{name}' points outside the extraction directory (absolute, drive letter or '..').", path);
        }
        if (name.Contains('\0'))
        {
            _context.Add(ContainerRules.PathTraversal, ScanLevel.Suspicious, $"Member name contains NUL: tools cut it at different places.", path);
        }
        if (!_exact.Add(name))
        {
            _context.Add(ContainerRules.DuplicateName, ScanLevel.Suspicious, $"Two members are named '{name}': loaders disagree on which one wins.", path);
        }
        else if (!_folded.Add(name))
        {
            // miniz (PyTorch) looks names up case-insensitively, Python's zipfile case-sensitively.
            _context.Add(ContainerRules.DuplicateName, ScanLevel.Suspicious, $"Two members differ only in case ('{name}'): loaders disagree on which one is read.", path);
        }
    }

    /// <summary>Checks a symbolic or hard link.</summary>
    public void CheckLink(string name, string? target, bool hard)
    {
        var path = ScanContext.Child(_archivePath, name);
        var kind = hard ? "hard link" : "symbolic link";
        if (target is null || EscapesRoot(target) || (!hard && EscapesFrom(name, target)))
        {
            _context.Add(ContainerRules.LinkEscape, _extractedAsGiven ? ScanLevel.Dangerous : ScanLevel.Suspicious,
                $"Member '{name}' is a {kind} to '{target}', outside the archive.", path);
        }
        else
        {
            _context.Add(ContainerRules.Link, ScanLevel.Suspicious, $"Member '{name}' is a {kind} to '{target}'; model archives have no links.", path);
        }
    }

    public void CheckSpecial(string name, string kind) =>
        _context.Add(ContainerRules.SpecialMember, ScanLevel.Suspicious, $"Member '{name}' is a {kind}; model archives hold only files.", ScanContext.Child(_archivePath, name));

    /// <summary>Absolute, drive-qualified or climbing with ".." (a backslash counts as a separator, as on Windows).</summary>
    public static bool EscapesRoot(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }
        var normal = name.Replace('\\', '/');
        if (normal[0] == '/' || (normal.Length >= 2 && normal[1] == ':' && char.IsAsciiLetter(normal[0])))
        {
            return true;
        }
        return normal.Split('/').Any(segment => segment == "..");
    }

    /// <summary>A relative link target that climbs above the archive root from where the link sits.</summary>
    private static bool EscapesFrom(string linkName, string target)
    {
        var depth = linkName.Split('/', StringSplitOptions.RemoveEmptyEntries).Length - 1;
        foreach (var segment in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            depth += segment switch { ".." => -1, "." => 0, _ => 1 };
            if (depth < 0)
            {
                return true;
            }
        }
        return false;
    }
}
