using Gatehouse.Licences;

namespace Gatehouse.Core.Tests.Licences;

/// <summary>
/// Licence declarations as PyPI releases publish them (core metadata <c>License-Expression</c>, <c>License</c> and the trove
/// classifiers, as the JSON API's <c>info.license_expression</c>, <c>info.license</c> and <c>info.classifiers</c> show them),
/// read into SPDX and judged under a sample policy: allow MIT, Apache-2.0, BSD-3-Clause, BSD-2-Clause, ISC, PSF-2.0; deny
/// GPL-3.0-only, GPL-3.0-or-later, AGPL-3.0-only, AGPL-3.0-or-later; anything else unknown.
/// </summary>
public sealed class PyPILicenceTests
{
    private const string Mit = "License :: OSI Approved :: MIT License";
    private const string Bsd = "License :: OSI Approved :: BSD License";
    private const string ApacheSoftware = "License :: OSI Approved :: Apache Software License";

    /// <summary>numpy 1.26's License field: its BSD-3-Clause LICENSE.txt and the note that the sources bundle other licences.</summary>
    private const string NumpyLicenseText = """
        Copyright (c) 2005-2023, NumPy Developers.
        All rights reserved.

        Redistribution and use in source and binary forms, with or without
        modification, are permitted provided that the following conditions are
        met:

            * Redistributions of source code must retain the above copyright
               notice, this list of conditions and the following disclaimer.

            * Redistributions in binary form must reproduce the above
               copyright notice, this list of conditions and the following
               disclaimer in the documentation and/or other materials provided
               with the distribution.

            * Neither the name of the NumPy Developers nor the names of any
               contributors may be used to endorse or promote products derived
               from this software without specific prior written permission.

        THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS
        "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES ...
        ----

        The NumPy repository and source distributions bundle several libraries that are
        compatibly licensed.  We list these in LICENSES_bundled.txt.
        """;

    /// <summary>The MIT licence text as many projects paste their LICENSE file into the License field.</summary>
    private const string MitLicenseText = """
        MIT License

        Copyright (c) 2017 Example Author

        Permission is hereby granted, free of charge, to any person obtaining a copy
        of this software and associated documentation files (the "Software"), to deal
        in the Software without restriction, including without limitation the rights
        to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
        copies of the Software, and to permit persons to whom the Software is
        furnished to do so, subject to the following conditions:

        The above copyright notice and this permission notice shall be included in all
        copies or substantial portions of the Software.

        THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND ...
        """;

    /// <summary>An MIT text without a heading line, as the License field of projects that paste LICENSE starting at the copyright.</summary>
    private const string MitBodyText = """
        Copyright (c) 2010-2024 Example Developers

        Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
        documentation files (the "Software"), to deal in the Software without restriction ...

        The above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.
        """;

    /// <summary>A BSD-3-Clause text under its heading, as pandas-style LICENSE files read.</summary>
    private const string Bsd3HeadedText = """
        BSD 3-Clause License

        Copyright (c) 2008-2011, AQR Capital Management, LLC, Lambda Foundry, Inc. and PyData Development Team
        All rights reserved.

        Redistribution and use in source and binary forms, with or without
        modification, are permitted provided that the following conditions are met:
        ...
        * Neither the name of the copyright holder nor the names of its
          contributors may be used to endorse or promote products derived from
          this software without specific prior written permission.
        """;

    /// <summary>A 2-clause BSD text without a heading.</summary>
    private const string Bsd2BodyText = """
        Copyright (c) 2012, Example
        All rights reserved.

        Redistribution and use in source and binary forms, with or without modification, are permitted provided that
        the following conditions are met:
        1. Redistributions of source code must retain the above copyright notice, this list of conditions and the following disclaimer.
        2. Redistributions in binary form must reproduce the above copyright notice, this list of conditions and the following
           disclaimer in the documentation and/or other materials provided with the distribution.
        """;

    /// <summary>A License field holding two licence texts (an MIT project shipping an Apache-2.0 file).</summary>
    private const string TwoLicenceTexts = """
        MIT License

        Permission is hereby granted, free of charge, to any person obtaining a copy ...

        Apache License
        Version 2.0, January 2004
        """;

    private const string ApacheHeaderText = """
                                         Apache License
                                   Version 2.0, January 2004
                                http://www.apache.org/licenses/

           TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION
        """;

    public static TheoryData<string, string?, string?, string?, string?, string, LicenceVerdict> Rows => new()
    {
        // PEP 639 License-Expression (core metadata 2.4)
        { "requests 2.32.5", "Apache-2.0", null, ApacheSoftware, "Apache-2.0", "License-Expression", LicenceVerdict.Allowed },
        { "numpy 2.3", "BSD-3-Clause AND 0BSD AND MIT AND Zlib AND CC0-1.0", null, Bsd,
            "BSD-3-Clause AND 0BSD AND MIT AND Zlib AND CC0-1.0", "License-Expression", LicenceVerdict.Unknown },
        { "packaging 24", "Apache-2.0 OR BSD-2-Clause", null, null, "Apache-2.0 OR BSD-2-Clause", "License-Expression", LicenceVerdict.Allowed },
        { "cryptography 44", "Apache-2.0 OR BSD-3-Clause", null, null, "Apache-2.0 OR BSD-3-Clause", "License-Expression", LicenceVerdict.Allowed },
        { "setuptools 80", "MIT", null, null, "MIT", "License-Expression", LicenceVerdict.Allowed },
        { "urllib3 2.5", "MIT", null, null, "MIT", "License-Expression", LicenceVerdict.Allowed },
        { "typing_extensions 4.13", "PSF-2.0", null, null, "PSF-2.0", "License-Expression", LicenceVerdict.Allowed },
        { "flask 3.1.1", "BSD-3-Clause", null, null, "BSD-3-Clause", "License-Expression", LicenceVerdict.Allowed },
        { "GPL with a listed exception", "GPL-2.0-or-later WITH Bootloader-exception", null, null,
            "GPL-2.0-or-later WITH Bootloader-exception", "License-Expression", LicenceVerdict.Unknown },
        { "an AGPL service", "AGPL-3.0-or-later", null, null, "AGPL-3.0-or-later", "License-Expression", LicenceVerdict.Denied },
        { "GPL-only tool", "GPL-3.0-only", null, null, "GPL-3.0-only", "License-Expression", LicenceVerdict.Denied },
        { "mixed AND with GPL", "MIT AND GPL-3.0-or-later", null, null, "MIT AND GPL-3.0-or-later", "License-Expression", LicenceVerdict.Denied },
        { "dual MIT or GPL", "MIT OR GPL-3.0-or-later", null, null, "MIT OR GPL-3.0-or-later", "License-Expression", LicenceVerdict.Allowed },
        { "lower-case operators", "mit or apache-2.0", null, null, "MIT OR Apache-2.0", "License-Expression", LicenceVerdict.Allowed },
        { "LGPL expression", "LGPL-3.0-or-later", null, null, "LGPL-3.0-or-later", "License-Expression", LicenceVerdict.Unknown },
        { "custom ref", "LicenseRef-Proprietary", null, null, "LicenseRef-Proprietary", "License-Expression", LicenceVerdict.Unknown },
        { "invalid expression falls back to classifiers", "MIT License", null, Mit, "MIT", "classifiers", LicenceVerdict.Allowed },
        // License field: SPDX ids and expressions written there
        { "six", null, "MIT", Mit, "MIT", "License", LicenceVerdict.Allowed },
        { "SPDX id in the License field", null, "Apache-2.0", null, "Apache-2.0", "License", LicenceVerdict.Allowed },
        { "certifi", null, "MPL-2.0", "License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0", "License", LicenceVerdict.Unknown },
        { "GPL-2.0 (deprecated id, kept)", null, "GPL-2.0", null, "GPL-2.0", "License", LicenceVerdict.Unknown },
        { "ISC", null, "ISC", null, "ISC", "License", LicenceVerdict.Allowed },
        { "BSD-3-Clause in License", null, "BSD-3-Clause", Bsd, "BSD-3-Clause", "License", LicenceVerdict.Allowed },
        { "MIT OR Apache-2.0 in License", null, "MIT OR Apache-2.0", null, "MIT OR Apache-2.0", "License", LicenceVerdict.Allowed },
        // License field: free-text names
        { "loguru", null, "MIT license", Mit, "MIT", "License", LicenceVerdict.Allowed },
        { "MIT License", null, "MIT License", null, "MIT", "License", LicenceVerdict.Allowed },
        { "The MIT License (MIT)", null, "The MIT License (MIT)", null, "MIT", "License", LicenceVerdict.Allowed },
        { "requests 2.32.3", null, "Apache 2.0", ApacheSoftware, "Apache-2.0", "License", LicenceVerdict.Allowed },
        { "boto3", null, "Apache License 2.0", ApacheSoftware, "Apache-2.0", "License", LicenceVerdict.Allowed },
        { "Apache License, Version 2.0", null, "Apache License, Version 2.0", ApacheSoftware, "Apache-2.0", "License", LicenceVerdict.Allowed },
        { "Apache Software License 2.0", null, "Apache Software License 2.0", null, "Apache-2.0", "License", LicenceVerdict.Allowed },
        { "BSD 3-Clause", null, "BSD 3-Clause", Bsd, "BSD-3-Clause", "License", LicenceVerdict.Allowed },
        { "scikit-learn", null, "new BSD", Bsd, "BSD-3-Clause", "License", LicenceVerdict.Allowed },
        { "Simplified BSD", null, "Simplified BSD", Bsd, "BSD-2-Clause", "License", LicenceVerdict.Allowed },
        { "PyQt5", null, "GPL v3", "License :: OSI Approved :: GNU General Public License v3 (GPLv3)", "GPL-3.0-only", "License",
            LicenceVerdict.Denied },
        { "GPLv3+", null, "GPLv3+", null, "GPL-3.0-or-later", "License", LicenceVerdict.Denied },
        { "GPLv3+ spelled out with its abbreviation", null, "GNU General Public License v3 or later (GPLv3+)",
            "License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)", "GPL-3.0-or-later", "License", LicenceVerdict.Denied },
        { "GPLv2", null, "GPLv2", null, "GPL-2.0-only", "License", LicenceVerdict.Unknown },
        { "LGPLv3+", null, "LGPLv3+", null, "LGPL-3.0-or-later", "License", LicenceVerdict.Unknown },
        { "AGPLv3", null, "GNU AGPLv3", null, "AGPL-3.0-only", "License", LicenceVerdict.Denied },
        { "MPL 2.0", null, "MPL 2.0", null, "MPL-2.0", "License", LicenceVerdict.Unknown },
        { "pexpect", null, "ISC license", "License :: OSI Approved :: ISC License (ISCL)", "ISC", "License", LicenceVerdict.Allowed },
        { "defusedxml", null, "PSFL", "License :: OSI Approved :: Python Software Foundation License", "PSF-2.0", "License", LicenceVerdict.Allowed },
        { "Python Software Foundation License", null, "Python Software Foundation License", null, "PSF-2.0", "License", LicenceVerdict.Allowed },
        { "Zope packages", null, "ZPL 2.1", "License :: OSI Approved :: Zope Public License", "ZPL-2.1", "License", LicenceVerdict.Unknown },
        { "Public Domain", null, "Public Domain", null, "LicenseRef-Public-Domain", "License", LicenceVerdict.Unknown },
        // License field: whole licence texts
        { "MIT text with heading", null, MitLicenseText, null, "MIT", "License", LicenceVerdict.Allowed },
        { "MIT text without heading", null, MitBodyText, Mit, "MIT", "License", LicenceVerdict.Allowed },
        { "pandas-style BSD-3 text", null, Bsd3HeadedText, Bsd, "BSD-3-Clause", "License", LicenceVerdict.Allowed },
        { "BSD-2 text", null, Bsd2BodyText, Bsd, "BSD-2-Clause", "License", LicenceVerdict.Allowed },
        { "Apache-2.0 text", null, ApacheHeaderText, ApacheSoftware, "Apache-2.0", "License", LicenceVerdict.Allowed },
        { "numpy 1.26 (bundles other licences; BSD classifier is ambiguous)", null, NumpyLicenseText, Bsd, null, "License", LicenceVerdict.Unknown },
        { "two licence texts", null, TwoLicenceTexts, null, null, "License", LicenceVerdict.Unknown },
        { "pyinstaller (GPL with its own exception, in prose)", null,
            "GPLv2-or-later with a special exception which allows to use PyInstaller to build and distribute non-free programs (including commercial ones)",
            "License :: OSI Approved :: GNU General Public License v2 (GPLv2)", null, "License", LicenceVerdict.Unknown },
        // License field that says nothing usable: the classifiers decide, or nothing does
        { "python-dateutil", null, "Dual License", $"{Bsd}|{ApacheSoftware}", null, "License", LicenceVerdict.Unknown },
        { "UNKNOWN, no classifiers", null, "UNKNOWN", null, null, "License", LicenceVerdict.Unknown },
        { "UNKNOWN with MIT classifier", null, "UNKNOWN", Mit, "MIT", "classifiers", LicenceVerdict.Allowed },
        { "GitPython-style BSD", null, "BSD", Bsd, null, "License", LicenceVerdict.Unknown },
        { "GPL", null, "GPL", "License :: OSI Approved :: GNU General Public License (GPL)", null, "License", LicenceVerdict.Unknown },
        { "paramiko-style LGPL", null, "LGPL", "License :: OSI Approved :: GNU Library or Lesser General Public License (LGPL)", null, "License",
            LicenceVerdict.Unknown },
        { "psycopg2", null, "LGPL with exceptions", "License :: OSI Approved :: GNU Library or Lesser General Public License (LGPL)", null,
            "License", LicenceVerdict.Unknown },
        { "Apache Software License (version unknown)", null, "Apache Software License", ApacheSoftware, null, "License", LicenceVerdict.Unknown },
        { "BSD License", null, "BSD License", Bsd, null, "License", LicenceVerdict.Unknown },
        { "Proprietary", null, "Proprietary", "License :: Other/Proprietary License", null, "License", LicenceVerdict.Unknown },
        { "License field beats a conflicting classifier", null, "MIT", Bsd, "MIT", "License", LicenceVerdict.Allowed },
        // Classifiers only (License empty or absent)
        { "empty License, MIT classifier", null, "", Mit, "MIT", "classifiers", LicenceVerdict.Allowed },
        { "idna 3.7", null, null, Bsd, null, "classifiers", LicenceVerdict.Unknown },
        { "typing_extensions 4.12", null, null, "License :: OSI Approved :: Python Software Foundation License", "PSF-2.0", "classifiers",
            LicenceVerdict.Allowed },
        { "OSI Approved parent ignored", null, null, $"License :: OSI Approved|{Mit}", "MIT", "classifiers", LicenceVerdict.Allowed },
        { "MIT and Apache classifiers (relation unknown)", null, null, $"{Mit}|License :: OSI Approved :: Apache Software License", null,
            "classifiers", LicenceVerdict.Unknown },
        { "MIT and ISC classifiers (relation unknown)", null, null, $"{Mit}|License :: OSI Approved :: ISC License (ISCL)", null, "classifiers",
            LicenceVerdict.Unknown },
        { "GPLv3 classifier (ambiguous)", null, null, "License :: OSI Approved :: GNU General Public License v3 (GPLv3)", null, "classifiers",
            LicenceVerdict.Unknown },
        { "GPLv3+ classifier", null, null, "License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)", "GPL-3.0-or-later",
            "classifiers", LicenceVerdict.Denied },
        { "Apache Software License classifier", null, null, ApacheSoftware, null, "classifiers", LicenceVerdict.Unknown },
        { "Public Domain classifier", null, null, "License :: Public Domain", "LicenseRef-Public-Domain", "classifiers", LicenceVerdict.Unknown },
        { "non-licence classifiers only", null, null, "Programming Language :: Python :: 3|Operating System :: OS Independent", null, "none",
            LicenceVerdict.Unknown },
        { "nothing declared", null, null, null, null, "none", LicenceVerdict.Unknown },
        { "blank everything", "  ", " ", "", null, "none", LicenceVerdict.Unknown },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Real_world_declarations_read_into_spdx_and_judged_by_a_sample_policy(
        string project, string? licenseExpression, string? licenseField, string? classifiers, string? expected, string source, LicenceVerdict verdict)
    {
        var list = classifiers?.Split('|', StringSplitOptions.RemoveEmptyEntries);
        var finding = Licence.FromPyPI(licenseExpression, licenseField, list);
        Assert.True(expected == finding.Expression, $"{project}: expected {expected ?? "(none)"}, got {finding.Expression ?? "(none)"}");
        Assert.Equal(source, finding.Source);
        var judged = finding.Expression is null ? LicenceVerdict.Unknown : Parsed(finding.Expression).Evaluate(LicenceExpressionTests.SamplePolicy);
        Assert.Equal(verdict, judged);
    }

    [Fact]
    public void The_table_has_at_least_fifty_rows() => Assert.True(Rows.Count >= 50, $"{Rows.Count} rows");

    [Fact]
    public void Raw_is_what_upstream_said_trimmed_and_capped()
    {
        var finding = Licence.FromPyPI(null, "  " + NumpyLicenseText + "  ", [Bsd]);
        Assert.Equal(Licence.RawLimit, finding.Raw.Length);
        Assert.StartsWith("Copyright (c) 2005-2023, NumPy Developers.", finding.Raw, StringComparison.Ordinal);
        Assert.Equal("Dual License", Licence.FromPyPI(null, " Dual License\n", null).Raw);
        Assert.Equal($"{Mit}; {ApacheSoftware}", Licence.FromPyPI(null, null, [Mit, ApacheSoftware, "Programming Language :: Python"]).Raw);
        Assert.Equal("mit or apache-2.0", Licence.FromPyPI("mit or apache-2.0", null, null).Raw);
        Assert.Equal(new LicenceFinding(null, "none", ""), Licence.FromPyPI(null, null, null));
    }

    private static LicenceExpression Parsed(string text)
    {
        Assert.True(LicenceExpression.TryParse(text, out var expression, out var error), error);
        return expression;
    }
}
