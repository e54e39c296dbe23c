namespace Gatehouse.Vulnerabilities;

/// <summary>The package ecosystems Gatehouse's OSV mirror holds.</summary>
public enum OsvEcosystemKind
{
    PyPI,
    Debian,
    Alpine,
}

/// <summary>
/// An OSV ecosystem (https://ossf.github.io/osv-schema/#affectedpackage-field): PyPI, <c>Debian</c> or
/// <c>Debian:&lt;release&gt;</c> (a record without a release covers every release), <c>Alpine:v&lt;major.minor&gt;</c>.
/// </summary>
public sealed record OsvEcosystem(OsvEcosystemKind Kind, string? Release)
{
    public static readonly OsvEcosystem PyPI = new(OsvEcosystemKind.PyPI, null);

    /// <summary>The ecosystem of <c>package.ecosystem</c>, or null for one the mirror does not hold (npm, Ubuntu, …).</summary>
    public static OsvEcosystem? Parse(string? text)
    {
        var colon = text?.IndexOf(':') ?? -1;
        var (name, release) = colon < 0 ? (text, null) : (text![..colon], text[(colon + 1)..]);
        return name switch
        {
            // The schema allows a ":suffix" on any ecosystem; PyPI does not use one, and it is ignored as before.
            "PyPI" => PyPI,
            "Debian" when release is null || release.Length > 0 => new OsvEcosystem(OsvEcosystemKind.Debian, release),
            "Alpine" when release is { Length: > 1 } && release[0] == 'v' => new OsvEcosystem(OsvEcosystemKind.Alpine, release),
            _ => null,
        };
    }

    /// <summary>A name as the mirror keys it: PEP 503 normalised for PyPI, as written (trimmed) for the distributions.</summary>
    public string Normalize(string name) => Kind == OsvEcosystemKind.PyPI ? Gatehouse.PyPI.ProjectName.Normalize(name.Trim()) : name.Trim();

    public override string ToString() => Kind.ToString() + (Release is null ? "" : ":" + Release);
}

/// <summary>
/// One package of one ecosystem, its name normalised: the key of a partition of the <c>vulnerabilities</c> table. A
/// PyPI project's partition is its normalised name, as it always was; a distribution's is <c>Debian:12|openssl</c>
/// (no PyPI name holds ':' or '|', and the Table service allows both in keys).
/// </summary>
public sealed record OsvPackageKey
{
    public OsvPackageKey(OsvEcosystem ecosystem, string name)
    {
        Ecosystem = ecosystem;
        Name = ecosystem.Normalize(name);
    }

    public OsvEcosystem Ecosystem { get; }

    public string Name { get; }

    public string Partition => Ecosystem.Kind == OsvEcosystemKind.PyPI ? Name : $"{Ecosystem}|{Name}";

    public override string ToString() => $"{Name} ({Ecosystem})";
}
