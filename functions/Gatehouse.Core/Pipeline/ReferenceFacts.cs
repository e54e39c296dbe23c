namespace Gatehouse.Pipeline;

/// <summary>
/// What a reference's remote knows about it besides its bytes: the facts a policy weighs before (and with) the content's
/// own facts. Every field may be unknown (null): a fact that could not be learnt is never read as a harmless one, and
/// <see cref="Unavailable"/> says which sources failed, so a policy can hold what it cannot judge.
/// </summary>
public sealed record ReferenceFacts
{
    /// <summary>Nothing known, as for a reference whose remote gathers nothing.</summary>
    public static readonly ReferenceFacts None = new();

    /// <summary>The project (PyPI, normalised) or repository (<c>org/name</c> for Hugging Face) the file belongs to.</summary>
    public string? Project { get; init; }

    /// <summary>The release the file belongs to: a PyPI version, or a Hugging Face commit.</summary>
    public string? Version { get; init; }

    /// <summary>The owner of a Hugging Face repository (its namespace); null for PyPI.</summary>
    public string? Organisation { get; init; }

    /// <summary>Advisories affecting this release; empty when none is known, null when the data is not available.</summary>
    public IReadOnlyList<AdvisoryFact>? Advisories { get; init; }

    /// <summary>The licence the release declares, normalised to SPDX where possible; null when not learnt.</summary>
    public LicenceInfo? Licence { get; init; }

    /// <summary>What the name suggests: a typosquat target, slopsquatting or namespace-reuse signals.</summary>
    public NameInfo? Name { get; init; }

    /// <summary>When the file was published upstream: a PyPI upload time, a Hugging Face commit date.</summary>
    public DateTimeOffset? PublishedAt { get; init; }

    /// <summary>A PEP 740 attestation accompanies the file (PyPI); null when unknown or not applicable.</summary>
    public bool? Attested { get; init; }

    /// <summary>Earlier releases carried attestations that this one does not.</summary>
    public bool? AttestationLost { get; init; }

    /// <summary>The Hugging Face repository is gated (its owner grants access).</summary>
    public bool? Gated { get; init; }

    /// <summary>The client named the release exactly (a commit for Hugging Face, <c>==</c> for pip is not visible to a proxy).</summary>
    public bool? Pinned { get; init; }

    /// <summary>Fact sources that failed for this reference ("vulnerabilities", "licence", …).</summary>
    public IReadOnlyList<string> Unavailable { get; init; } = [];
}

/// <summary>
/// What one request says of the reference it asks for, beyond what the remote knows: a reference is shared by every
/// request that names its file, so these facts are the asker's, applied to this request's decision only.
/// </summary>
/// <param name="Pinned">The client named an exact release (a Hugging Face commit, not a branch); null when it cannot tell.</param>
public sealed record RequestFacts(bool? Pinned);

/// <summary>One advisory affecting a release, as a policy reads it.</summary>
/// <param name="Severity">none, low, medium, high or critical from a CVSS base score; unknown when the advisory rates none.</param>
/// <param name="Malicious">The advisory reports malware (OSV <c>MAL-</c> records), not a flaw.</param>
public sealed record AdvisoryFact(string Id, IReadOnlyList<string> Aliases, string Summary, double? Cvss, string Severity, bool Malicious, IReadOnlyList<string> FixedIn);

/// <summary>A release's licence: the SPDX expression when one could be made, and where it came from.</summary>
/// <param name="Expression">Normalised SPDX expression; null when the declaration could not be read as one.</param>
/// <param name="Source">Where it came from: License-Expression, the License field, classifiers, a model card.</param>
/// <param name="Raw">What the upstream said, for the reason a client reads.</param>
public sealed record LicenceInfo(string? Expression, string Source, string Raw);

/// <summary>What a name suggests.</summary>
/// <param name="TyposquatOf">The popular project the name imitates, when it does.</param>
/// <param name="Technique">How: "swap", "omission", "separator", "confusable", …</param>
/// <param name="Signals">Slopsquatting and namespace signals, as stable ids ("name.young", "name.namespace-reused", …).</param>
public sealed record NameInfo(string? TyposquatOf, string? Technique, IReadOnlyList<string> Signals);
