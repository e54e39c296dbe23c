using Gatehouse.Cli.Quarantine;

namespace Gatehouse.Cli.Tests;

/// <summary><c>gatehouse quarantine</c>: how an expiry is read, and how Gatehouse's answers are printed.</summary>
public sealed class QuarantineCommandTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("12h", "2026-03-02T00:00:00+00:00")]
    [InlineData("30d", "2026-03-31T12:00:00+00:00")]
    [InlineData("2026-04-01", "2026-04-01T00:00:00+00:00")]
    [InlineData("2026-04-01T08:30:00+02:00", "2026-04-01T06:30:00+00:00")]
    public void An_expiry_is_a_span_from_now_or_a_date(string text, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), QuarantineCommand.Expiry(text, Now));

    [Theory]
    [InlineData("0d")]
    [InlineData("3w")]
    [InlineData("soon")]
    [InlineData("d")]
    public void Anything_else_is_no_expiry(string text) => Assert.Null(QuarantineCommand.Expiry(text, Now));

    [Fact]
    public void The_list_prints_one_line_per_refused_file()
    {
        const string Body = """
            {"count":2,"items":[
              {"remote":"pypi","subject":"gh-evil","file":"gh_evil-1.0.0-py3-none-any.whl","sha256":"20ad","decision":"Blocked","rule":"install.pth-exec",
               "policyRule":"content-dangerous","decidedAt":"2026-03-01T10:00:00+00:00","severity":"Dangerous"},
              {"remote":"pypi","subject":"gh-young","file":"gh_young-1.0.tar.gz","sha256":"99ff","decision":"Quarantined","rule":"cooldown",
               "policyRule":"cooldown","decidedAt":"2026-03-01T09:00:00+00:00","severity":null}]}
            """;

        var lines = QuarantineCommand.Table(Body).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal("2 refused", lines[0]);
        Assert.Equal("2026-03-01 10:00  Blocked      install.pth-exec (content-dangerous)  Dangerous  pypi gh-evil gh_evil-1.0.0-py3-none-any.whl  20ad", lines[1]);
        Assert.Equal("2026-03-01 09:00  Quarantined  cooldown (cooldown)  -  pypi gh-young gh_young-1.0.tar.gz  99ff", lines[2]);
    }

    [Fact]
    public void An_action_prints_the_override_and_each_file_decided_again()
    {
        const string Body = """
            {"action":"release","sha256":"20ad","override":{"id":"override-1","decision":"Allowed","reason":"ok","by":"alice","at":"2026-03-01T12:00:00+00:00",
              "expires":"2026-03-03T12:00:00+00:00"},
             "references":[{"remote":"pypi","subject":"gh-evil","file":"gh_evil-1.0.0-py3-none-any.whl","decision":{"decision":"Allowed","rule":"review.released"}},
                           {"remote":"hf","subject":"acme/m","file":"x.whl","decision":null}],"container":"artifacts"}
            """;

        Assert.Equal(
            "release 20ad: override-1 Allowed by alice until 2026-03-03T12:00:00.0000000+00:00\n"
            + "  pypi gh-evil gh_evil-1.0.0-py3-none-any.whl: Allowed (review.released)\n"
            + "  hf acme/m x.whl: decided at its next request (no facts yet)\n",
            QuarantineCommand.Outcome(Body));
    }
}
