using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;

namespace Gatehouse.Vulnerabilities;

/// <summary>
/// The layout of the <c>vulnerabilities</c> table: partition = PEP 503 normalised project (or, for a distribution's
/// package, <see cref="OsvPackageKey.Partition"/>), row = advisory id (escaped), property <c>Record</c> = the record as
/// that package sees it, compact JSON, <c>Hash</c> of it so an import
/// rewrites only what changed, and <c>Source</c>, the export it came from, so an import deletes only its own rows.
/// Partition <c>_meta</c> (an underscore never survives normalisation, so no project can have it) holds the last import
/// of each export. Azure Table Storage allows 64 KiB per string property and 1 MiB per entity
/// (https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model): long details
/// are cut, and a record still too long is split over <c>Record</c>, <c>Record1</c>, … .
/// </summary>
internal static class OsvTable
{
    public const string MetaPartition = "_meta";
    public const string MetaRow = "import";

    /// <summary>Characters of <c>details</c> kept; the full text is one link away in <c>references</c>.</summary>
    public const int MaxDetailsChars = 4_000;

    /// <summary>Characters per string property: 64 KiB of UTF-16 is 32 768, kept clear of it.</summary>
    public const int MaxPropertyChars = 30_000;

    /// <summary>Properties a record may span: 15 × 60 KB stays under the 1 MiB entity limit with the keys.</summary>
    public const int MaxParts = 15;

    /// <summary>The stored form of a record for one project, or null when even the cut record does not fit in an entity.</summary>
    public static string? Compact(OsvRecord record, OsvPackageKey package)
    {
        var mine = record.ForPackage(package);
        if (mine.Details is { Length: > MaxDetailsChars } details)
        {
            mine = mine with { Details = details[..MaxDetailsChars] + "…" };
        }
        var json = mine.ToJson();
        if (json.Length > MaxPropertyChars)
        {
            json = (mine with { Details = null, References = null }).ToJson();
        }
        return json.Length > MaxPropertyChars * MaxParts ? null : json;
    }

    public static string RowKey(string id) => Uri.EscapeDataString(id);

    /// <summary>
    /// The meta row of an export's import: <see cref="MetaRow"/> for the primary export (as it always was), and
    /// <c>import-</c> and a hash of the URL for each further one, so each keeps its own validators and counts.
    /// </summary>
    public static string MetaRowFor(OsvImportSource? source) =>
        source is null || source.Primary || source.Url is null ? MetaRow : MetaRow + "-" + Hash(source.Url)[..16];

    public static string Hash(string json) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)))[..32];

    /// <summary>A record's row; <paramref name="source"/> is the URL of the export it came from (null for a stream import).</summary>
    public static TableEntity Entity(string normalizedProject, string id, string json, string? source)
    {
        var entity = new TableEntity(normalizedProject, RowKey(id)) { ["Hash"] = Hash(json), ["Source"] = source };
        for (var part = 0; part * MaxPropertyChars < json.Length; part++)
        {
            var start = part * MaxPropertyChars;
            entity[PartName(part)] = json.Substring(start, Math.Min(MaxPropertyChars, json.Length - start));
        }
        return entity;
    }

    /// <summary>The record a row holds, or null for a row that is not one (the meta row, a damaged row).</summary>
    public static OsvRecord? Record(TableEntity entity)
    {
        var json = new StringBuilder();
        for (var part = 0; entity.GetString(PartName(part)) is { } text; part++)
        {
            json.Append(text);
        }
        return json.Length == 0 ? null : OsvRecord.TryParse(Encoding.UTF8.GetBytes(json.ToString()), out _);
    }

    private static string PartName(int part) => part == 0 ? "Record" : "Record" + part.ToString(CultureInfo.InvariantCulture);
}
