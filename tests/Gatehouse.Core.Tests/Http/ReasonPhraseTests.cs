using Gatehouse.Http;

namespace Gatehouse.Core.Tests.Http;

public class ReasonPhraseTests
{
    private const string PlainReason = "Blocked by Gatehouse: demo.pth runs code (install.pth-exec)";

    private static void AssertVisibleAscii(string phrase)
    {
        Assert.All(phrase, c => Assert.InRange(c, ' ', '~'));
    }

    [Theory]
    [InlineData(PlainReason, PlainReason)] // a plain reason is kept as it is
    [InlineData("a \u2192 b\u2026 3\u00d7", "a > b. 3x")] // common typographic characters get ASCII stand-ins
    [InlineData("\r\n reason \n", "reason")] // leading and trailing spaces are trimmed
    public void A_reason_keeps_its_text_in_plain_trimmed_ASCII(string reason, string expected)
    {
        Assert.Equal(expected, HttpResponses.ReasonPhrase(reason));
    }

    [Fact]
    public void A_reason_longer_than_300_characters_is_cut_and_the_cut_is_marked()
    {
        var phrase = HttpResponses.ReasonPhrase("rule x: " + new string('a', 400));
        Assert.Equal(300, phrase.Length);
        Assert.StartsWith("rule x: aaa", phrase);
        Assert.EndsWith("a...", phrase);
        Assert.Equal(new string('b', 300), HttpResponses.ReasonPhrase(new string('b', 300)));
    }

    [Fact]
    public void A_header_injection_attempt_does_not_survive_as_a_line_break()
    {
        var phrase = HttpResponses.ReasonPhrase("a\r\nSet-Cookie: x");
        Assert.DoesNotContain('\r', phrase);
        Assert.DoesNotContain('\n', phrase);
        AssertVisibleAscii(phrase);
        Assert.StartsWith("a", phrase);
        Assert.EndsWith("Set-Cookie: x", phrase);
    }

    [Fact]
    public void Control_characters_and_non_ASCII_become_visible_ASCII()
    {
        var phrase = HttpResponses.ReasonPhrase("tab\there\0nul\u007fdel caf\u00e9 \u65e5\u672c \ud83d\udca3 \u2028end");
        AssertVisibleAscii(phrase);
        Assert.StartsWith("tab", phrase);
        Assert.EndsWith("end", phrase);
    }

    [Fact]
    public void A_long_reason_is_capped()
    {
        var phrase = HttpResponses.ReasonPhrase(new string('x', 5000));
        Assert.InRange(phrase.Length, 1, 300);
    }
}
