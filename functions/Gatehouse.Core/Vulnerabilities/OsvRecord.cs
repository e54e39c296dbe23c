using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gatehouse.Vulnerabilities;

/// <summary>
/// One OSV advisory (https://ossf.github.io/osv-schema/), reduced to what matching, scoring and the OSV API need; other
/// fields of the schema are ignored when read. The schema requires <c>id</c> and <c>modified</c>.
/// </summary>
public sealed record OsvRecord
{
    public string Id { get; init; } = "";
    public string? Modified { get; init; }
    public string? Published { get; init; }

    /// <summary>When the advisory was withdrawn; a withdrawn advisory affects nothing (schema §withdrawn).</summary>
    public string? Withdrawn { get; init; }
    public IReadOnlyList<string>? Aliases { get; init; }
    public string? Summary { get; init; }
    public string? Details { get; init; }
    public IReadOnlyList<OsvSeverity>? Severity { get; init; }
    public IReadOnlyList<OsvAffected>? Affected { get; init; }
    public IReadOnlyList<OsvReference>? References { get; init; }
    public OsvDatabaseSpecific? DatabaseSpecific { get; init; }

    /// <summary>Reads one record; null with a reason when the JSON is not an OSV record.</summary>
    public static OsvRecord? TryParse(ReadOnlySpan<byte> json, out string? error)
    {
        OsvRecord? record;
        try
        {
            record = JsonSerializer.Deserialize(json, OsvJsonContext.Default.OsvRecord);
        }
        catch (JsonException e)
        {
            error = $"not an OSV record: {e.Message}";
            return null;
        }
        error = record switch
        {
            null => "the JSON is null",
            { Id: null or "" } => "no id",
            { Modified: null or "" } => "no modified time",
            _ => null,
        };
        return error is null ? record : null;
    }

    /// <summary>The record as compact JSON (nulls left out).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, OsvJsonContext.Default.OsvRecord);

    /// <summary>
    /// The record as one project sees it: only the PyPI entries of <c>affected</c> for that (PEP 503 normalised) project,
    /// so a record that names many packages is stored once per package with its own part.
    /// </summary>
    public OsvRecord ForProject(string normalizedProject) => ForPackage(new OsvPackageKey(OsvEcosystem.PyPI, normalizedProject));

    /// <summary>The record as one package of any ecosystem the mirror holds sees it (see <see cref="ForProject"/>).</summary>
    public OsvRecord ForPackage(OsvPackageKey key) => this with
    {
        Affected = Affected?.Where(a => a.Names(key)).ToList(),
    };

    /// <summary>Every package of an ecosystem the mirror holds (PyPI, Debian, Alpine) that the record names, names normalised.</summary>
    public IEnumerable<OsvPackageKey> Packages() =>
        (Affected ?? []).Select(a => a.Key).OfType<OsvPackageKey>().Distinct();

    /// <summary>The normalised PyPI projects the record affects.</summary>
    public IEnumerable<string> PyPIProjects() =>
        (Affected ?? []).Where(a => a.Package?.IsPyPI == true && !string.IsNullOrWhiteSpace(a.Package.Name))
        .Select(a => PyPI.ProjectName.Normalize(a.Package!.Name!.Trim())).Distinct(StringComparer.Ordinal);
}

/// <summary>A severity score: <c>type</c> CVSS_V2, CVSS_V3, CVSS_V4 or Ubuntu and its vector or label.</summary>
public sealed record OsvSeverity(string? Type, string? Score);

/// <summary>One affected package with its ranges and enumerated versions.</summary>
public sealed record OsvAffected
{
    public OsvPackage? Package { get; init; }
    public IReadOnlyList<OsvSeverity>? Severity { get; init; }
    public IReadOnlyList<OsvRange>? Ranges { get; init; }
    public IReadOnlyList<string>? Versions { get; init; }
    public OsvDatabaseSpecific? DatabaseSpecific { get; init; }

    /// <summary>The package this entry is about, when its ecosystem is one the mirror holds and it has a name.</summary>
    [JsonIgnore]
    public OsvPackageKey? Key =>
        Package is { Name: { } name } && !string.IsNullOrWhiteSpace(name) && OsvEcosystem.Parse(Package.Ecosystem) is { } ecosystem ? new OsvPackageKey(ecosystem, name) : null;

    /// <summary>True when this entry is <paramref name="key"/>: the same ecosystem and release, the same normalised name.</summary>
    public bool Names(OsvPackageKey key) => key.Ecosystem.Kind == OsvEcosystemKind.PyPI ? Names(key.Name) : Key == key;

    /// <summary>True when this entry is the PyPI package <paramref name="normalizedProject"/> (names compared PEP 503 normalised).</summary>
    public bool Names(string normalizedProject) =>
        Package is { IsPyPI: true, Name: { } name } && PyPI.ProjectName.Normalize(name.Trim()) == normalizedProject;
}

/// <summary>The package an entry of <c>affected</c> is about.</summary>
public sealed record OsvPackage(string? Ecosystem, string? Name, string? Purl)
{
    /// <summary>The PyPI ecosystem; the schema allows a ":suffix" on ecosystems, which PyPI does not use but is accepted.</summary>
    [JsonIgnore]
    public bool IsPyPI => Ecosystem is { } e && (e == "PyPI" || e.StartsWith("PyPI:", StringComparison.Ordinal));
}

/// <summary>A version range: <c>type</c> ECOSYSTEM, SEMVER or GIT and its events.</summary>
public sealed record OsvRange(string? Type, string? Repo, IReadOnlyList<OsvEvent>? Events);

/// <summary>One range event; the schema allows exactly one of the four per object.</summary>
public sealed record OsvEvent(string? Introduced = null, string? Fixed = null, string? LastAffected = null, string? Limit = null);

/// <summary>A link from the advisory (type ADVISORY, WEB, FIX, REPORT, …).</summary>
public sealed record OsvReference(string? Type, string? Url);

/// <summary>
/// The only part of <c>database_specific</c> Gatehouse reads: a severity label such as the GitHub Advisory Database's
/// LOW / MODERATE / HIGH / CRITICAL. Anything else in the object, or a severity that is not a string, is dropped.
/// </summary>
[JsonConverter(typeof(OsvDatabaseSpecificConverter))]
public sealed record OsvDatabaseSpecific(string? Severity);

/// <summary>Reads <c>database_specific</c> whatever it holds, keeping only a string <c>severity</c>.</summary>
internal sealed class OsvDatabaseSpecificConverter : JsonConverter<OsvDatabaseSpecific>
{
    public override OsvDatabaseSpecific? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        return document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("severity", out var severity) && severity.ValueKind == JsonValueKind.String
            ? new OsvDatabaseSpecific(severity.GetString())
            : null;
    }

    public override void Write(Utf8JsonWriter writer, OsvDatabaseSpecific value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        if (value.Severity is { } severity)
        {
            writer.WriteString("severity", severity);
        }
        writer.WriteEndObject();
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OsvRecord))]
internal sealed partial class OsvJsonContext : JsonSerializerContext;
