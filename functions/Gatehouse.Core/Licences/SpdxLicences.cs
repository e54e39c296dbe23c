using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Gatehouse.Licences;

/// <summary>
/// The SPDX License List (https://spdx.org/licenses/, data from github.com/spdx/license-list-data, CC0-1.0), embedded so
/// that licence ids are checked and spelled the same way offline, on every host, whatever upstream wrote.
/// </summary>
public static class SpdxLicences
{
    private const string ResourceName = "Gatehouse.Licences.spdx-licenses.json";
    private const string LicenseRefPrefix = "LicenseRef-";
    private const string DocumentRefPrefix = "DocumentRef-";
    private const string AdditionRefPrefix = "AdditionRef-";

    private static readonly Lazy<ListData> Data = new(Load);

    /// <summary>The SPDX License List version embedded (its <c>licenseListVersion</c>), so findings can say which list judged them.</summary>
    public static string ListVersion => Data.Value.Version;

    /// <summary>
    /// The listed spelling of a licence id, matched case-insensitively as SPDX requires (SPDX 2.3 Annex D.2). Deprecated ids
    /// (<c>GPL-2.0</c>, <c>GPL-2.0+</c>) are kept as listed, not replaced. <c>LicenseRef-…</c> and
    /// <c>DocumentRef-…:LicenseRef-…</c> are accepted as written when their idstrings are well formed. On false,
    /// <paramref name="canonical"/> is empty.
    /// </summary>
    public static bool TryCanonical(string id, out string canonical)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (IsLicenceRef(id))
        {
            canonical = id;
            return true;
        }
        if (Data.Value.Licences.TryGetValue(id, out var entry))
        {
            canonical = entry.Id;
            return true;
        }
        canonical = "";
        return false;
    }

    /// <summary>Whether the SPDX list marks the licence OSI-approved; false for ids it does not list and for licence refs.</summary>
    public static bool IsOsiApproved(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        return Data.Value.Licences.TryGetValue(id, out var entry) && entry.IsOsiApproved;
    }

    /// <summary>Whether the SPDX list marks the id deprecated (it still names the licence it always named).</summary>
    internal static bool IsDeprecated(string id) => Data.Value.Licences.TryGetValue(id, out var entry) && entry.IsDeprecated;

    /// <summary>The number of licence ids and exception ids in the embedded list.</summary>
    internal static (int Licences, int Exceptions) Counts => (Data.Value.Licences.Count, Data.Value.Exceptions.Count);

    /// <summary>
    /// The listed spelling of a licence exception id (the operand of <c>WITH</c>), case-insensitively; an
    /// <c>AdditionRef-…</c> (optionally <c>DocumentRef-…:</c>-prefixed) is accepted as written.
    /// </summary>
    internal static bool TryCanonicalException(string id, [NotNullWhen(true)] out string? canonical)
    {
        if (IsRef(id, AdditionRefPrefix))
        {
            canonical = id;
            return true;
        }
        return Data.Value.Exceptions.TryGetValue(id, out canonical);
    }

    /// <summary>Whether <paramref name="id"/> is a user-defined licence ref: <c>["DocumentRef-" idstring ":"] "LicenseRef-" idstring</c>.</summary>
    internal static bool IsLicenceRef(string id) => IsRef(id, LicenseRefPrefix);

    /// <summary>An SPDX idstring: one or more of letters, digits, <c>-</c> and <c>.</c> (SPDX 2.3 Annex D.1).</summary>
    internal static bool IsIdString(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return false;
        }
        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '.')
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsRef(string id, string prefix)
    {
        var span = id.AsSpan();
        if (span.StartsWith(DocumentRefPrefix, StringComparison.Ordinal))
        {
            var colon = span.IndexOf(':');
            if (colon < 0 || !IsIdString(span[DocumentRefPrefix.Length..colon]))
            {
                return false;
            }
            span = span[(colon + 1)..];
        }
        return span.StartsWith(prefix, StringComparison.Ordinal) && IsIdString(span[prefix.Length..]);
    }

    private static ListData Load()
    {
        using var stream = typeof(SpdxLicences).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from {typeof(SpdxLicences).Assembly.GetName().Name}.");
        using var document = JsonDocument.Parse(stream);
        var root = document.RootElement;
        var licences = new Dictionary<string, LicenceEntry>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in root.GetProperty("licenses").EnumerateArray())
        {
            var id = item.GetProperty("licenseId").GetString()!;
            licences[id] = new LicenceEntry(id, item.GetProperty("isOsiApproved").GetBoolean(), item.GetProperty("isDeprecatedLicenseId").GetBoolean());
        }
        var exceptions = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in root.GetProperty("exceptions").EnumerateArray())
        {
            var id = item.GetProperty("licenseExceptionId").GetString()!;
            exceptions[id] = id;
        }
        return new ListData(root.GetProperty("licenseListVersion").GetString()!, licences.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
            exceptions.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase));
    }

    private sealed record LicenceEntry(string Id, bool IsOsiApproved, bool IsDeprecated);

    private sealed record ListData(string Version, IReadOnlyDictionary<string, LicenceEntry> Licences, IReadOnlyDictionary<string, string> Exceptions);
}
