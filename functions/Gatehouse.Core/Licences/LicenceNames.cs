using System.Text.RegularExpressions;

namespace Gatehouse.Licences;

/// <summary>
/// Free-text licence names and whole licence texts, as PyPI projects put them in the core-metadata <c>License</c> field
/// (https://packaging.python.org/en/latest/specifications/core-metadata/#license), read as SPDX ids where the name says
/// one licence and one version. Names that leave the licence or its version open ("BSD", "GPL", "LGPL", "Apache",
/// "Apache Software License") are deliberately not read, for the reason PEP 639 gives for the matching classifiers.
/// A bare GNU version ("GPLv3") is read as <c>-only</c>, which is what the SPDX list's own deprecated <c>GPL-3.0</c>
/// means (its listed name is "GNU General Public License v3.0 only").
/// </summary>
internal static partial class LicenceNames
{
    private static readonly (string Id, string[] Names)[] Aliases =
    [
        ("MIT", ["MIT", "MIT License", "The MIT License (MIT)", "MIT Licence", "Expat", "MIT/Expat", "Expat License"]),
        ("Apache-2.0", ["Apache 2.0", "Apache 2", "Apache2", "Apache License 2.0", "Apache License, Version 2.0", "Apache Software License 2.0",
            "Apache Software License, Version 2.0", "ASL 2.0", "Apache v2", "Apache License v2", "Apache License Version 2.0, January 2004"]),
        ("BSD-3-Clause", ["BSD 3-Clause", "BSD-3", "3-Clause BSD", "New BSD", "BSD New", "Modified BSD", "Revised BSD", "BSD 3-Clause License",
            "3-clause BSD License", "New BSD License", "Modified BSD License", "BSD (3 clause)", "BSD 3-Clause \"New\" or \"Revised\" License"]),
        ("BSD-2-Clause", ["BSD 2-Clause", "BSD-2", "2-Clause BSD", "Simplified BSD", "FreeBSD", "BSD 2-Clause License", "Simplified BSD License",
            "BSD (2 clause)", "BSD 2-Clause \"Simplified\" License"]),
        ("GPL-2.0-only", ["GPLv2", "GPL v2", "GPL 2", "GPL 2.0", "GNU GPL v2", "GNU GPLv2", "GNU General Public License v2", "GNU General Public License v2.0"]),
        ("GPL-2.0-or-later", ["GPLv2+", "GPL v2+", "GPL 2+", "GPLv2 or later", "GNU GPLv2+", "GNU General Public License v2 or later"]),
        ("GPL-3.0-only", ["GPLv3", "GPL v3", "GPL 3", "GPL 3.0", "GNU GPL v3", "GNU GPLv3", "GNU General Public License v3", "GNU General Public License v3.0"]),
        ("GPL-3.0-or-later", ["GPLv3+", "GPL v3+", "GPL 3+", "GPLv3 or later", "GNU GPLv3+", "GNU General Public License v3 or later",
            "GNU GPL v3 or any later version"]),
        ("LGPL-2.1-only", ["LGPLv2.1", "LGPL v2.1", "LGPL 2.1", "GNU LGPL v2.1", "GNU Lesser General Public License v2.1"]),
        ("LGPL-2.1-or-later", ["LGPLv2.1+", "LGPL 2.1+", "LGPL v2.1 or later", "GNU Lesser General Public License v2.1 or later"]),
        ("LGPL-3.0-only", ["LGPLv3", "LGPL v3", "LGPL 3", "LGPL 3.0", "GNU LGPL v3", "GNU LGPLv3", "GNU Lesser General Public License v3"]),
        ("LGPL-3.0-or-later", ["LGPLv3+", "LGPL v3+", "LGPL 3+", "LGPLv3 or later", "GNU Lesser General Public License v3 or later"]),
        ("AGPL-3.0-only", ["AGPLv3", "AGPL v3", "AGPL 3", "AGPL 3.0", "GNU AGPL v3", "GNU Affero General Public License v3"]),
        ("AGPL-3.0-or-later", ["AGPLv3+", "AGPL v3+", "AGPL 3+", "AGPLv3 or later", "GNU Affero General Public License v3 or later"]),
        ("MPL-2.0", ["MPL 2.0", "MPL 2", "MPL2", "MPL v2", "Mozilla Public License 2.0", "Mozilla Public License, Version 2.0"]),
        ("ISC", ["ISC License", "ISCL", "ISC License (ISCL)"]),
        ("PSF-2.0", ["PSF", "PSFL", "PSF License", "PSF 2.0", "Python Software Foundation License", "Python Software Foundation License 2.0"]),
        ("Unlicense", ["The Unlicense", "Unlicense"]),
        ("CC0-1.0", ["CC0", "CC0 1.0", "CC0 1.0 Universal", "Creative Commons Zero v1.0 Universal"]),
        ("Zlib", ["zlib/libpng", "zlib License", "zlib/libpng License"]),
        ("BSL-1.0", ["Boost Software License", "Boost Software License 1.0"]),
        ("EPL-2.0", ["Eclipse Public License 2.0", "EPL 2.0"]),
        ("EPL-1.0", ["Eclipse Public License 1.0", "EPL 1.0"]),
        ("ZPL-2.1", ["ZPL 2.1", "Zope Public License 2.1"]),
        // PEP 639's classifier appendix lets "public domain" be read as LicenseRef-Public-Domain.
        ("LicenseRef-Public-Domain", ["Public Domain", "Public-Domain"]),
    ];

    private static readonly string[] DroppedWords = ["the", "license", "licensed", "version", "under", "gnu", "only", "software", "a", "an"];

    /// <summary>Every id the table can produce, for the test that checks each against the SPDX list.</summary>
    internal static IEnumerable<string> Targets => Aliases.Select(a => a.Id);

    /// <summary>The SPDX id a short free-text licence name stands for, or null when it names none unambiguously.</summary>
    public static string? FromName(string name)
    {
        if (ByKey.TryGetValue(Key(name), out var id))
        {
            return id;
        }
        // "GNU General Public License v3 or later (GPLv3+)": the name and its abbreviation must agree.
        var match = Parenthesised().Match(name);
        if (match.Success)
        {
            var outside = ByKey.GetValueOrDefault(Key(name.Remove(match.Index, match.Length)));
            var inside = ByKey.GetValueOrDefault(Key(match.Groups[1].Value));
            return outside is not null && inside == outside ? outside : null;
        }
        return null;
    }

    /// <summary>
    /// The SPDX id a whole licence text stands for, or null. Read only when the text is one licence: a text that carries
    /// the markers of two licence families, or says it bundles other code under other terms (numpy's does), is not read.
    /// The first line is read as a name ("MIT License"); without one, the body is recognised for MIT (the grant and the
    /// notice condition), BSD (2-, 3- or 4-clause by its clauses) and Apache 2.0 (its header).
    /// </summary>
    public static string? FromText(string text)
    {
        var lower = text.ToLowerInvariant();
        if (lower.Contains("bundle", StringComparison.Ordinal) || lower.Contains("third-party", StringComparison.Ordinal)
            || lower.Contains("third party", StringComparison.Ordinal))
        {
            return null;
        }
        var families = Families.Where(f => f.Markers.Any(m => lower.Contains(m, StringComparison.Ordinal))).Select(f => f.Family).Distinct().ToList();
        if (families.Count > 1)
        {
            return null;
        }
        var firstLine = text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
        if (firstLine.Length <= 100 && FromName(firstLine) is { } named)
        {
            return families.Count == 0 || families[0] == FamilyOf(named) ? named : null;
        }
        return families.SingleOrDefault() switch
        {
            "MIT" when lower.Contains("the above copyright notice and this permission notice shall be included", StringComparison.Ordinal) => "MIT",
            "BSD" when lower.Contains("advertising materials", StringComparison.Ordinal) => "BSD-4-Clause",
            "BSD" when lower.Contains("neither the name", StringComparison.Ordinal) => "BSD-3-Clause",
            "BSD" when lower.Contains("redistributions in binary form must reproduce", StringComparison.Ordinal) => "BSD-2-Clause",
            "Apache" when lower.Contains("version 2.0, january 2004", StringComparison.Ordinal) => "Apache-2.0",
            _ => null,
        };
    }

    private static Dictionary<string, string> BuildKeys()
    {
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (id, names) in Aliases)
        {
            foreach (var name in names)
            {
                var key = Key(name);
                if (keys.TryGetValue(key, out var other) && other != id)
                {
                    throw new InvalidOperationException($"The licence names '{name}' ({id}) and another of {other} reduce to the same key '{key}'.");
                }
                keys[key] = id;
            }
        }
        return keys;
    }

    private static readonly (string Family, string[] Markers)[] Families =
    [
        ("MIT", ["permission is hereby granted, free of charge"]),
        ("BSD", ["redistribution and use in source and binary forms"]),
        ("Apache", ["apache license"]),
        ("GNU", ["gnu general public license", "gnu lesser general public license", "gnu affero general public license", "gnu library general public license"]),
        ("MPL", ["mozilla public license"]),
    ];

    private static string? FamilyOf(string id) => id switch
    {
        "MIT" => "MIT",
        _ when id.StartsWith("BSD-", StringComparison.Ordinal) => "BSD",
        _ when id.StartsWith("Apache-", StringComparison.Ordinal) => "Apache",
        _ when id.Contains("GPL-", StringComparison.Ordinal) => "GNU",
        _ when id.StartsWith("MPL-", StringComparison.Ordinal) => "MPL",
        _ => null,
    };

    /// <summary>
    /// A name reduced to what distinguishes licences: lower case, "licence" spelled "license", punctuation and filler
    /// words gone, "v3"/"3" written "3.0", "or later" written "+", and the GNU, Mozilla and Eclipse long names abbreviated.
    /// </summary>
    internal static string Key(string name)
    {
        var text = name.ToLowerInvariant().Replace("licence", "license", StringComparison.Ordinal);
        text = GluedVersion().Replace(text, "$1 $2");
        text = Punctuation().Replace(text.Replace("+", " + ", StringComparison.Ordinal), " ");
        var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(w => !DroppedWords.Contains(w, StringComparer.Ordinal))
            .Select(w => w.Length > 1 && w[0] == 'v' && char.IsAsciiDigit(w[1]) ? w[1..] : w)
            .Select(w => w.All(char.IsAsciiDigit) ? w + ".0" : w);
        var key = " " + string.Join(' ', words) + " ";
        foreach (var (from, to) in Abbreviations)
        {
            key = key.Replace(from, to, StringComparison.Ordinal);
        }
        return key.Trim();
    }

    private static readonly (string From, string To)[] Abbreviations =
    [
        (" or any later ", " + "), (" or later ", " + "), (" or newer ", " + "), (" or greater ", " + "), (" and later ", " + "),
        (" lesser general public ", " lgpl "), (" library general public ", " lgpl "), (" affero general public ", " agpl "),
        (" general public ", " gpl "), (" mozilla public ", " mpl "), (" eclipse public ", " epl "),
    ];

    // Declared after the tables Key reads: static fields are initialised in the order they are written.
    private static readonly Dictionary<string, string> ByKey = BuildKeys();

    [GeneratedRegex(@"\b(agpl|lgpl|gpl|mpl|apache|epl|bsd)v?(\d)")]
    private static partial Regex GluedVersion();

    [GeneratedRegex(@"[^a-z0-9.+]+")]
    private static partial Regex Punctuation();

    [GeneratedRegex(@"\(([^()]*)\)")]
    private static partial Regex Parenthesised();
}
