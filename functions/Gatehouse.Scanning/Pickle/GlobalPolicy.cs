namespace Gatehouse.Scanning.Pickle;

/// <summary>The verdict on one resolved global.</summary>
internal readonly record struct GlobalJudgement(ScanLevel Level, string Rule, string Reason, AllowEntry? Allowed)
{
    public static GlobalJudgement Allow(AllowEntry entry) => new(ScanLevel.Safe, "", entry.Reason, entry);

    public bool IsDangerous => Level == ScanLevel.Dangerous;
}

/// <summary>
/// Judges globals: allow-list first (exact module and name as the loader resolves them), then the deny-list to grade
/// what is left as Dangerous and name it; everything else is Suspicious.
/// </summary>
internal static class GlobalPolicy
{
    public const string DangerousRule = "pickle.dangerous-global";
    public const string UnknownRule = "pickle.unknown-global";
    public const string DunderRule = "pickle.dunder-global";

    private static readonly Dictionary<string, AllowEntry> AllowExact = new(StringComparer.Ordinal);
    private static readonly List<(string ModulePrefix, string Name, AllowEntry Entry)> AllowWildcards = [];
    private static readonly Dictionary<string, DenyEntry> DenyModules = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, DenyEntry> DenyExact = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, DenyEntry> DenyAnyModule = new(StringComparer.Ordinal);

    static GlobalPolicy()
    {
        foreach (var entry in AllowList.Entries)
        {
            var (module, name) = Split(entry.Pattern);
            if (module.EndsWith(".*", StringComparison.Ordinal) || name == "<Class>")
            {
                AllowWildcards.Add((module.EndsWith(".*", StringComparison.Ordinal) ? module[..^2] : module, name, entry));
            }
            else
            {
                AllowExact.TryAdd($"{module}:{name}", entry);
            }
        }
        foreach (var entry in DenyList.Entries)
        {
            var (module, name) = Split(entry.Pattern);
            if (module == "*")
            {
                DenyAnyModule.TryAdd(name, entry);
            }
            else if (name == "*")
            {
                DenyModules.TryAdd(module, entry);
            }
            else
            {
                DenyExact.TryAdd($"{module}:{name}", entry);
            }
        }
    }

    private static (string Module, string Name) Split(string pattern)
    {
        var colon = pattern.IndexOf(':');
        return (pattern[..colon], pattern[(colon + 1)..]);
    }

    /// <summary>Judges <paramref name="module"/>.<paramref name="name"/> exactly as the loader would reach it.</summary>
    public static GlobalJudgement Judge(string module, string name)
    {
        if (FindAllowed(module, name) is { } allowed)
        {
            return GlobalJudgement.Allow(allowed);
        }
        if (FindDenied(module, name) is { } denied)
        {
            return new(ScanLevel.Dangerous, DangerousRule, denied.Reason, null);
        }
        if (HasDunder(name))
        {
            return new(ScanLevel.Dangerous, DunderRule,
                "reaches interpreter internals through a dunder attribute (__builtins__, __globals__, __class__, __subclasses__ …)", null);
        }
        return new(ScanLevel.Suspicious, UnknownRule, "not on the allow-list of globals that checkpoints need", null);
    }

    /// <summary>Judges only the import of <paramref name="module"/> (importing runs the module's top-level code).</summary>
    public static GlobalJudgement JudgeModuleImport(string module)
    {
        if (FindDeniedModule(module) is { } denied)
        {
            return new(ScanLevel.Dangerous, DangerousRule, denied.Reason, null);
        }
        return new(ScanLevel.Suspicious, UnknownRule, "imports a module that is not on the allow-list", null);
    }

    public static AllowEntry? FindAllowed(string module, string name)
    {
        if (AllowExact.TryGetValue($"{module}:{name}", out var exact))
        {
            return exact;
        }
        foreach (var (prefix, pattern, entry) in AllowWildcards)
        {
            var moduleMatches = module == prefix || (module.Length > prefix.Length && module.StartsWith(prefix, StringComparison.Ordinal) && module[prefix.Length] == '.');
            if (moduleMatches && (pattern == "<Class>" ? IsClassName(name) : pattern == name))
            {
                return entry;
            }
        }
        return null;
    }

    private static bool IsClassName(string name)
    {
        if (name.Length == 0 || name[0] is < 'A' or > 'Z')
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }
        return true;
    }

    private static DenyEntry? FindDeniedModule(string module)
    {
        // The module or any parent package listed whole ("asyncio:*" covers asyncio.unix_events).
        var candidate = module;
        while (true)
        {
            if (DenyModules.TryGetValue(candidate, out var entry))
            {
                return entry;
            }
            var dot = candidate.LastIndexOf('.');
            if (dot < 0)
            {
                return null;
            }
            candidate = candidate[..dot];
        }
    }

    /// <summary>Dotted names longer than this are judged by their components only (no real qualname comes close).</summary>
    private const int MaxPathParts = 32;

    private static DenyEntry? FindDenied(string module, string name)
    {
        if (FindDeniedModule(module) is { } whole)
        {
            return whole;
        }
        var parts = name.Split('.');
        // Names that are dangerous in any module (eval, exec, getattr, system …), at any step of a dotted path, and
        // dotted paths that walk through a module re-exported under its own name (pathlib + "os.system" is os.system).
        foreach (var part in parts)
        {
            if (DenyAnyModule.TryGetValue(part, out var any))
            {
                return any;
            }
        }
        for (var i = 0; i < parts.Length - 1; i++)
        {
            if (FindDeniedModule(parts[i]) is { } reexported)
            {
                return reexported;
            }
        }
        if (parts.Length > MaxPathParts)
        {
            return null;
        }
        // Every split of module + path into (a module, an attribute path inside it): the attribute or any prefix of it
        // ("code:InteractiveInterpreter" covers ….runcode), reached as a submodule or as a re-export.
        for (var split = -1; split < parts.Length - 1; split++)
        {
            var owners = split < 0
                ? [module]
                : new[] { $"{module}.{string.Join('.', parts, 0, split + 1)}", parts[split], string.Join('.', parts, 0, split + 1) };
            foreach (var owner in owners)
            {
                if (split >= 0 && FindDeniedModule(owner) is { } submodule)
                {
                    return submodule;
                }
                var path = "";
                for (var j = split + 1; j < parts.Length; j++)
                {
                    path = path.Length == 0 ? parts[j] : $"{path}.{parts[j]}";
                    if (DenyExact.TryGetValue($"{owner}:{path}", out var exact))
                    {
                        return exact;
                    }
                }
            }
        }
        return null;
    }

    private static bool HasDunder(string name)
    {
        foreach (var part in name.Split('.'))
        {
            if (part.Length > 4 && part.StartsWith("__", StringComparison.Ordinal) && part.EndsWith("__", StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }
}
