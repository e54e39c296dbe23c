namespace Gatehouse.Licences;

/// <summary>
/// Trove licence classifiers (https://pypi.org/classifiers/, pypa/trove-classifiers) read as SPDX ids, following PEP 639's
/// appendix "Mapping License Classifiers to SPDX Identifiers"
/// (https://peps.python.org/pep-0639/appendix-mapping-classifiers/).
/// </summary>
internal static class LicenceClassifiers
{
    private const string Prefix = "License ::";

    /// <summary>
    /// Classifiers that name one licence unambiguously. Absent on purpose: the ones the appendix says tools MUST NOT infer
    /// from (AFL, Apache Software License, Apple Public Source, Artistic, BSD, AGPL v3, FDL, GPL, GPL v2, GPL v3, LGPL v2,
    /// LGPL v2+, LGPL v3, LGPL), the generic ones it lets tools treat as ambiguous (OSI Approved, DFSG approved, the
    /// freeware / proprietary family), GUST fonts (no SPDX id), and the ones whose version the classifier does not say
    /// (Eiffel Forum License, Netscape Public License, Zope Public License) or that SPDX does not list (Repoze).
    /// </summary>
    private static readonly Dictionary<string, string> Unambiguous = new(StringComparer.Ordinal)
    {
        ["License :: Aladdin Free Public License (AFPL)"] = "Aladdin",
        ["License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication"] = "CC0-1.0",
        ["License :: CeCILL-B Free Software License Agreement (CECILL-B)"] = "CECILL-B",
        ["License :: CeCILL-C Free Software License Agreement (CECILL-C)"] = "CECILL-C",
        ["License :: Nokia Open Source License (NOKOS)"] = "Nokia",
        ["License :: OSI Approved :: Attribution Assurance License"] = "AAL",
        ["License :: OSI Approved :: Blue Oak Model License (BlueOak-1.0.0)"] = "BlueOak-1.0.0",
        ["License :: OSI Approved :: Boost Software License 1.0 (BSL-1.0)"] = "BSL-1.0",
        ["License :: OSI Approved :: CEA CNRS Inria Logiciel Libre License, version 2.1 (CeCILL-2.1)"] = "CECILL-2.1",
        ["License :: OSI Approved :: CMU License (MIT-CMU)"] = "MIT-CMU",
        ["License :: OSI Approved :: Common Development and Distribution License 1.0 (CDDL-1.0)"] = "CDDL-1.0",
        ["License :: OSI Approved :: Common Public License"] = "CPL-1.0",
        ["License :: OSI Approved :: Eclipse Public License 1.0 (EPL-1.0)"] = "EPL-1.0",
        ["License :: OSI Approved :: Eclipse Public License 2.0 (EPL-2.0)"] = "EPL-2.0",
        ["License :: OSI Approved :: Educational Community License, Version 2.0 (ECL-2.0)"] = "ECL-2.0",
        ["License :: OSI Approved :: European Union Public Licence 1.0 (EUPL 1.0)"] = "EUPL-1.0",
        ["License :: OSI Approved :: European Union Public Licence 1.1 (EUPL 1.1)"] = "EUPL-1.1",
        ["License :: OSI Approved :: European Union Public Licence 1.2 (EUPL 1.2)"] = "EUPL-1.2",
        ["License :: OSI Approved :: GNU Affero General Public License v3 or later (AGPLv3+)"] = "AGPL-3.0-or-later",
        ["License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)"] = "GPL-2.0-or-later",
        ["License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)"] = "GPL-3.0-or-later",
        ["License :: OSI Approved :: GNU Lesser General Public License v3 or later (LGPLv3+)"] = "LGPL-3.0-or-later",
        ["License :: OSI Approved :: Historical Permission Notice and Disclaimer (HPND)"] = "HPND",
        ["License :: OSI Approved :: IBM Public License"] = "IPL-1.0",
        ["License :: OSI Approved :: ISC License (ISCL)"] = "ISC",
        ["License :: OSI Approved :: MIT License"] = "MIT",
        ["License :: OSI Approved :: MIT No Attribution License (MIT-0)"] = "MIT-0",
        ["License :: OSI Approved :: MirOS License (MirOS)"] = "MirOS",
        ["License :: OSI Approved :: Motosoto License"] = "Motosoto",
        ["License :: OSI Approved :: Mozilla Public License 1.0 (MPL)"] = "MPL-1.0",
        ["License :: OSI Approved :: Mozilla Public License 1.1 (MPL 1.1)"] = "MPL-1.1",
        ["License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)"] = "MPL-2.0",
        ["License :: OSI Approved :: Mulan Permissive Software License v2 (MulanPSL-2.0)"] = "MulanPSL-2.0",
        ["License :: OSI Approved :: NASA Open Source Agreement v1.3 (NASA-1.3)"] = "NASA-1.3",
        ["License :: OSI Approved :: Nethack General Public License"] = "NGPL",
        ["License :: OSI Approved :: Nokia Open Source License"] = "Nokia",
        ["License :: OSI Approved :: Open Group Test Suite License"] = "OGTSL",
        ["License :: OSI Approved :: Open Software License 3.0 (OSL-3.0)"] = "OSL-3.0",
        ["License :: OSI Approved :: PostgreSQL License"] = "PostgreSQL",
        ["License :: OSI Approved :: Python License (CNRI Python License)"] = "CNRI-Python",
        ["License :: OSI Approved :: Python Software Foundation License"] = "PSF-2.0",
        ["License :: OSI Approved :: Qt Public License (QPL)"] = "QPL-1.0",
        ["License :: OSI Approved :: Ricoh Source Code Public License"] = "RSCPL",
        ["License :: OSI Approved :: SIL Open Font License 1.1 (OFL-1.1)"] = "OFL-1.1",
        ["License :: OSI Approved :: Sleepycat License"] = "Sleepycat",
        ["License :: OSI Approved :: Sun Public License"] = "SPL-1.0",
        ["License :: OSI Approved :: The Unlicense (Unlicense)"] = "Unlicense",
        ["License :: OSI Approved :: Universal Permissive License (UPL)"] = "UPL-1.0",
        ["License :: OSI Approved :: University of Illinois/NCSA Open Source License"] = "NCSA",
        ["License :: OSI Approved :: Vovida Software License 1.0"] = "VSL-1.0",
        ["License :: OSI Approved :: W3C License"] = "W3C",
        ["License :: OSI Approved :: Zero-Clause BSD (0BSD)"] = "0BSD",
        ["License :: OSI Approved :: zlib/libpng License"] = "Zlib",
        // The appendix: "License :: Public Domain" MAY be mapped to LicenseRef-Public-Domain.
        ["License :: Public Domain"] = "LicenseRef-Public-Domain",
    };

    /// <summary>The classifiers this table maps, for the test that checks every target against the SPDX list.</summary>
    internal static IReadOnlyDictionary<string, string> Table => Unambiguous;

    /// <summary>The licence classifiers among <paramref name="classifiers"/>, trimmed, once each, in order.</summary>
    public static IReadOnlyList<string> LicenceClassifiersOf(IReadOnlyList<string>? classifiers) =>
        classifiers is null ? [] :
        classifiers.Select(c => c.Trim()).Where(c => c.StartsWith(Prefix, StringComparison.Ordinal)).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>
    /// The SPDX id the licence classifiers name, or null. Per the appendix, when several licence classifiers are given their
    /// relation (all apply, or a choice) is unknown and tools MUST NOT infer an expression, except that a classifier that is
    /// a parent of another (all its <c>::</c> parts begin the other) MAY be ignored. So this is neither OR nor AND: one
    /// classifier left after dropping parents maps to its id, anything else to nothing.
    /// </summary>
    public static string? ToSpdx(IReadOnlyList<string> licenceClassifiers)
    {
        var leaves = licenceClassifiers.Where(c => !licenceClassifiers.Any(other => IsParentOf(c, other))).ToList();
        return leaves.Count == 1 && Unambiguous.TryGetValue(leaves[0], out var id) ? id : null;
    }

    private static bool IsParentOf(string parent, string child) =>
        child.Length > parent.Length && child.StartsWith(parent + " ::", StringComparison.Ordinal);
}
