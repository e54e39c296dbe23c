using Gatehouse.Licences;

namespace Gatehouse.Core.Tests.Licences;

/// <summary>The SPDX license-expression grammar (SPDX 2.3 Annex D) and the three-valued evaluation.</summary>
public sealed class LicenceExpressionTests
{
    private static LicenceExpression Parse(string text)
    {
        Assert.True(LicenceExpression.TryParse(text, out var expression, out var error), error);
        return expression;
    }

    [Theory]
    [InlineData("MIT", "MIT")]
    [InlineData("  mit  ", "MIT")]
    [InlineData("mit or apache-2.0", "MIT OR Apache-2.0")]
    [InlineData("MIT And Apache-2.0", "MIT AND Apache-2.0")]
    [InlineData("(MIT)", "MIT")]
    [InlineData("((MIT OR Apache-2.0))", "MIT OR Apache-2.0")]
    [InlineData("MIT AND (Apache-2.0 OR BSD-3-Clause)", "MIT AND (Apache-2.0 OR BSD-3-Clause)")]
    [InlineData("(MIT AND Apache-2.0) OR BSD-3-Clause", "MIT AND Apache-2.0 OR BSD-3-Clause")]
    [InlineData("MIT OR (Apache-2.0 AND BSD-3-Clause)", "MIT OR Apache-2.0 AND BSD-3-Clause")]
    [InlineData("(MIT OR ISC)AND(Zlib OR 0BSD)", "(MIT OR ISC) AND (Zlib OR 0BSD)")]
    [InlineData("gpl-2.0-or-later with classpath-exception-2.0", "GPL-2.0-or-later WITH Classpath-exception-2.0")]
    [InlineData("GPL-2.0-or-later WITH Bootloader-exception", "GPL-2.0-or-later WITH Bootloader-exception")]
    [InlineData("Apache-2.0 WITH LLVM-exception OR MIT", "Apache-2.0 WITH LLVM-exception OR MIT")]
    [InlineData("LGPL-2.1+", "LGPL-2.1+")]
    [InlineData("Apache-1.1+", "Apache-1.1+")]
    [InlineData("GPL-2.0", "GPL-2.0")]
    [InlineData("LicenseRef-Proprietary AND MIT", "LicenseRef-Proprietary AND MIT")]
    [InlineData("DocumentRef-other.spdx:LicenseRef-Custom-1", "DocumentRef-other.spdx:LicenseRef-Custom-1")]
    [InlineData("MIT WITH AdditionRef-My-Exception", "MIT WITH AdditionRef-My-Exception")]
    [InlineData("BSD-3-Clause AND 0BSD AND MIT AND Zlib AND CC0-1.0", "BSD-3-Clause AND 0BSD AND MIT AND Zlib AND CC0-1.0")]
    public void Parses_and_writes_the_normalised_form(string text, string normalised)
    {
        var expression = Parse(text);
        Assert.Equal(normalised, expression.ToString());
        Assert.Equal(expression, Parse(normalised));
    }

    [Fact]
    public void And_binds_tighter_than_or()
    {
        Assert.Equal(new LicenceOr(new SimpleLicence("MIT"), new LicenceAnd(new SimpleLicence("Apache-2.0"), new SimpleLicence("BSD-3-Clause"))),
            Parse("MIT OR Apache-2.0 AND BSD-3-Clause"));
        Assert.Equal(new LicenceOr(new LicenceAnd(new SimpleLicence("MIT"), new SimpleLicence("Apache-2.0")), new SimpleLicence("BSD-3-Clause")),
            Parse("MIT AND Apache-2.0 OR BSD-3-Clause"));
        Assert.Equal(new LicenceAnd(new SimpleLicence("MIT"), new LicenceOr(new SimpleLicence("Apache-2.0"), new SimpleLicence("BSD-3-Clause"))),
            Parse("MIT AND (Apache-2.0 OR BSD-3-Clause)"));
    }

    [Fact]
    public void With_binds_tighter_than_and_and_plus_is_kept_apart_from_the_id()
    {
        Assert.Equal(new LicenceAnd(new LicenceWithException(new SimpleLicence("GPL-3.0-or-later"), "GCC-exception-3.1"), new SimpleLicence("MIT")),
            Parse("GPL-3.0-or-later WITH GCC-exception-3.1 AND MIT"));
        Assert.Equal(new SimpleLicence("LGPL-2.1-only", OrLater: true), Parse("lgpl-2.1-only+"));
        Assert.Equal(new SimpleLicence("GPL-2.0+"), Parse("gpl-2.0+"));
    }

    [Fact]
    public void Licence_ids_lists_each_licence_once_in_order_without_exceptions()
    {
        var expression = Parse("(MIT OR GPL-2.0-or-later WITH Classpath-exception-2.0) AND MIT AND LGPL-2.1+ AND LicenseRef-X");
        Assert.Equal(["MIT", "GPL-2.0-or-later", "LGPL-2.1+", "LicenseRef-X"], expression.LicenceIds);
    }

    [Theory]
    [InlineData("", "the expression is empty")]
    [InlineData("   ", "the expression is empty")]
    [InlineData("MIT OR", "expected a licence id at position 7 (end of the expression)")]
    [InlineData("OR MIT", "expected a licence id at position 1 but found 'OR'")]
    [InlineData("MIT AND AND Apache-2.0", "expected a licence id at position 9 but found 'AND'")]
    [InlineData("MIT Apache-2.0", "unexpected 'Apache-2.0' at position 5")]
    [InlineData("(MIT OR Apache-2.0", "expected ')' at position 19 (end of the expression) to close the '(' at position 1")]
    [InlineData("MIT)", "unexpected ')' at position 4")]
    [InlineData("()", "expected a licence id at position 2 but found ')'")]
    [InlineData("MIT License", "unexpected 'License' at position 5")]
    [InlineData("Apache 2.0", "unknown licence id 'Apache' at position 1")]
    [InlineData("MIT OR Foo-1.0", "unknown licence id 'Foo-1.0' at position 8")]
    [InlineData("MIT/Apache-2.0", "unexpected character '/' at position 4")]
    [InlineData("MIT WITH", "expected an exception id after WITH at position 9 (end of the expression)")]
    [InlineData("MIT WITH OR", "expected an exception id after WITH at position 10 but found 'OR'")]
    [InlineData("GPL-2.0-only WITH Made-Up-exception", "unknown licence exception 'Made-Up-exception' at position 19")]
    [InlineData("GPL-2.0-only WITH MIT", "unknown licence exception 'MIT' at position 19")]
    [InlineData("LicenseRef-Mine+", "'+' may follow a listed licence id only, not a LicenseRef, at position 16")]
    [InlineData("MIT++", "unknown licence id 'MIT++' at position 1")]
    public void Errors_say_what_was_wrong_and_where(string text, string error)
    {
        Assert.False(LicenceExpression.TryParse(text, out var expression, out var message));
        Assert.Null(expression);
        Assert.StartsWith(error, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_and_length_are_bounded()
    {
        var deep = new string('(', 40) + "MIT" + new string(')', 40);
        Assert.False(LicenceExpression.TryParse(deep, out _, out var error));
        Assert.Contains("nested deeper than 32", error, StringComparison.Ordinal);
        Assert.True(LicenceExpression.TryParse(new string('(', 32) + "MIT" + new string(')', 32), out _, out _));
        var longText = string.Join(" OR ", Enumerable.Repeat("MIT", 3000));
        Assert.False(LicenceExpression.TryParse(longText, out _, out error));
        Assert.Contains("at most 8192", error, StringComparison.Ordinal);
    }

    private static readonly string[] Allow = ["MIT", "Apache-2.0", "BSD-3-Clause", "BSD-2-Clause", "ISC", "PSF-2.0"];
    private static readonly string[] Deny = ["GPL-3.0-only", "GPL-3.0-or-later", "AGPL-3.0-only", "AGPL-3.0-or-later"];

    internal static bool? SamplePolicy(string id) => Allow.Contains(id) ? true : Deny.Contains(id) ? false : null;

    [Theory]
    [InlineData("MIT", LicenceVerdict.Allowed)]
    [InlineData("GPL-3.0-only", LicenceVerdict.Denied)]
    [InlineData("MPL-2.0", LicenceVerdict.Unknown)]
    [InlineData("MIT OR GPL-3.0-only", LicenceVerdict.Allowed)]
    [InlineData("GPL-3.0-only OR MIT", LicenceVerdict.Allowed)]
    [InlineData("GPL-3.0-only OR AGPL-3.0-only", LicenceVerdict.Denied)]
    [InlineData("GPL-3.0-only OR MPL-2.0", LicenceVerdict.Unknown)]
    [InlineData("MPL-2.0 OR MIT", LicenceVerdict.Allowed)]
    [InlineData("MIT AND Apache-2.0", LicenceVerdict.Allowed)]
    [InlineData("MIT AND GPL-3.0-only", LicenceVerdict.Denied)]
    [InlineData("MPL-2.0 AND GPL-3.0-only", LicenceVerdict.Denied)]
    [InlineData("MIT AND MPL-2.0", LicenceVerdict.Unknown)]
    [InlineData("MIT AND (GPL-3.0-only OR Apache-2.0)", LicenceVerdict.Allowed)]
    [InlineData("MIT AND (GPL-3.0-only OR AGPL-3.0-or-later)", LicenceVerdict.Denied)]
    [InlineData("(MIT AND GPL-3.0-only) OR ISC", LicenceVerdict.Allowed)]
    [InlineData("LicenseRef-Proprietary", LicenceVerdict.Unknown)]
    [InlineData("GPL-3.0-or-later WITH GCC-exception-3.1", LicenceVerdict.Denied)]
    [InlineData("Apache-2.0 WITH LLVM-exception", LicenceVerdict.Allowed)]
    [InlineData("Apache-2.0+", LicenceVerdict.Allowed)]
    [InlineData("GPL-3.0-only+", LicenceVerdict.Unknown)]
    [InlineData("GPL-3.0", LicenceVerdict.Unknown)]
    public void Evaluates_or_as_any_allowed_and_and_as_any_denied(string text, LicenceVerdict verdict) =>
        Assert.Equal(verdict, Parse(text).Evaluate(SamplePolicy));

    [Fact]
    public void An_or_later_licence_is_judged_as_written_first()
    {
        var asked = new List<string>();
        Assert.Equal(LicenceVerdict.Denied, Parse("LGPL-2.1+").Evaluate(id =>
        {
            asked.Add(id);
            return id == "LGPL-2.1+" ? false : true;
        }));
        Assert.Equal(["LGPL-2.1+"], asked);
    }
}
