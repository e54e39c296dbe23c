using System.Text;

namespace Gatehouse.Licences;

/// <summary>
/// The licence identifiers a Hugging Face card's <c>license</c> field takes (https://huggingface.co/docs/hub/repositories-licenses;
/// source huggingface/hub-docs docs/hub/repositories-licenses.md), read as SPDX. Most are an SPDX id in lower case and
/// are found through the SPDX list. This table holds the ones that are not: GNU licences, which the Hub names without
/// "only" or "or later" and which are read as <c>-only</c> (what the SPDX list's deprecated <c>GPL-3.0</c> means), ids
/// spelled differently from SPDX, and families (<c>bsd</c>, <c>gpl</c>, <c>cc</c>, <c>openrail</c>, …) that name no single
/// licence and therefore get a <c>LicenseRef-HF-…</c> like the model licences SPDX does not list.
/// </summary>
internal static class HuggingFaceLicences
{
    private const string RefPrefix = "LicenseRef-HF-";

    private static readonly Dictionary<string, string> Special = new(StringComparer.OrdinalIgnoreCase)
    {
        ["agpl-3.0"] = "AGPL-3.0-only",
        ["gpl-2.0"] = "GPL-2.0-only",
        ["gpl-3.0"] = "GPL-3.0-only",
        ["lgpl-2.1"] = "LGPL-2.1-only",
        ["lgpl-3.0"] = "LGPL-3.0-only",
        ["c-uda"] = "C-UDA-1.0",
        ["pddl"] = "PDDL-1.0",
        ["lgpl-lr"] = "LGPLLR",
    };

    /// <summary>Hub ids for a family of licences, or listed by SPDX under a name that is not this one licence: never read as one SPDX id.</summary>
    private static readonly HashSet<string> Families = new(StringComparer.OrdinalIgnoreCase)
    {
        "bsd", "cc", "gfdl", "gpl", "lgpl", "odc-by", "odbl", "openrail",
    };

    /// <summary>Every SPDX id the special table produces, for the test that checks each against the SPDX list.</summary>
    internal static IEnumerable<string> Targets => Special.Values;

    /// <summary>The SPDX expression for one Hub licence id: its SPDX id where one exists, else <c>LicenseRef-HF-&lt;id&gt;</c>.</summary>
    public static string ToSpdx(string hubId)
    {
        if (Special.TryGetValue(hubId, out var special))
        {
            return special;
        }
        if (!Families.Contains(hubId) && SpdxLicences.TryCanonical(hubId, out var canonical) && !SpdxLicences.IsLicenceRef(canonical)
            && !SpdxLicences.IsDeprecated(canonical))
        {
            return canonical;
        }
        return RefPrefix + IdString(hubId);
    }

    /// <summary>
    /// <paramref name="text"/> in the SPDX idstring charset (letters, digits, <c>-</c>, <c>.</c>; SPDX 2.3 Annex D.1): <c>+</c>
    /// becomes <c>-plus</c> so <c>openrail++</c> stays apart from <c>openrail</c>; any other character becomes <c>-</c>, runs
    /// of <c>-</c> are collapsed and trimmed. Empty text becomes <c>unnamed</c>.
    /// </summary>
    internal static string IdString(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text.Trim())
        {
            var part = char.IsAsciiLetterOrDigit(c) || c == '.' ? c.ToString() : c == '+' ? "-plus" : "-";
            foreach (var p in part)
            {
                if (p != '-' || builder.Length > 0 && builder[^1] != '-')
                {
                    builder.Append(p);
                }
            }
        }
        var id = builder.ToString().TrimEnd('-');
        return id.Length == 0 ? "unnamed" : id;
    }
}
