using Gatehouse.Tokens;

namespace Gatehouse.Core.Tests.Tokens;

public sealed class TokenGrantTests
{
    private static bool Allows(string grants, TokenScope needed, string? resource) =>
        new TokenAccess(needed, resource).AllowedBy(TokenGrant.ParseAll(grants.Split(' ')));

    [Theory]
    [InlineData("pypi:read=numpy", "numpy", true)]
    [InlineData("pypi:read=numpy", "NumPy", true)]
    [InlineData("pypi:read=zope.interface", "zope-interface", true)]
    [InlineData("pypi:read=Zope_Interface", "zope.interface", true)]
    [InlineData("pypi:read=torch-*", "torch-audio", true)]
    [InlineData("pypi:read=torch-*", "torch_vision", true)]
    [InlineData("pypi:read=torch-*", "torch", false)]
    [InlineData("pypi:read=numpy", "numpy2", false)]
    [InlineData("pypi:read=*-internal", "acme-internal", true)]
    [InlineData("pypi:read=*-internal", "acme-internals", false)]
    [InlineData("pypi:read", "anything", true)]
    public void PyPI_projects_are_compared_as_PEP_503_names_with_globs(string grant, string project, bool allowed) =>
        Assert.Equal(allowed, Allows(grant, TokenScope.PypiRead, project));

    [Theory]
    [InlineData("hf:read=meta-llama/", "meta-llama/Llama-3.2-1B", true)]
    [InlineData("hf:read=meta-llama/", "meta-llama-fake/x", false)]
    [InlineData("hf:read=openai/whisper-tiny", "OpenAI/Whisper-Tiny", true)]
    [InlineData("hf:read=openai/whisper-tiny", "openai/whisper-small", false)]
    [InlineData("hf:read=openai/whisper-*", "openai/whisper-small", true)]
    [InlineData("hf:read=*/bert-base", "google/bert-base", true)]
    public void Hugging_Face_repos_match_exactly_by_organisation_prefix_or_glob(string grant, string repo, bool allowed) =>
        Assert.Equal(allowed, Allows(grant, TokenScope.HfRead, repo));

    [Fact]
    public void A_scope_does_not_open_another_remote()
    {
        Assert.False(Allows("pypi:read", TokenScope.HfRead, "org/repo"));
        Assert.False(Allows("hf:read", TokenScope.PypiRead, "numpy"));
        Assert.True(Allows("pypi:read=numpy hf:read=org/", TokenScope.HfRead, "org/repo"));
    }

    [Fact]
    public void Admin_implies_every_other_scope_but_no_other_scope_reaches_admin()
    {
        Assert.True(Allows("admin", TokenScope.PypiRead, "numpy"));
        Assert.True(Allows("admin", TokenScope.HfRead, "org/repo"));
        Assert.True(TokenAccess.AnyRead.AllowedBy(TokenGrant.Unrestricted(TokenScope.Admin)));
        Assert.False(TokenAccess.Admin.AllowedBy(TokenGrant.ParseAll(["read", "uploads:write"])));
        Assert.True(TokenAccess.UploadsWrite.AllowedBy(TokenGrant.Unrestricted(TokenScope.Admin)));
        Assert.False(TokenAccess.UploadsWrite.AllowedBy(TokenGrant.ParseAll(["read"])));
    }

    [Fact]
    public void Any_read_scope_serves_a_request_about_no_resource_even_when_limited()
    {
        Assert.True(TokenAccess.AnyRead.AllowedBy(TokenGrant.ParseAll(["pypi:read=numpy"])));
        Assert.True(new TokenAccess(TokenScope.PypiRead).AllowedBy(TokenGrant.ParseAll(["pypi:read=numpy"])));
        Assert.False(TokenAccess.AnyRead.AllowedBy(TokenGrant.ParseAll(["uploads:write"])));
    }

    [Fact]
    public void Read_is_both_read_scopes_as_tokens_of_before_were()
    {
        var grants = TokenGrant.ParseAll(["read"]);
        Assert.Equal(["pypi:read", "hf:read"], grants.Select(g => g.ToString()));
        Assert.Equal(TokenScope.Read, TokenGrant.ScopesOf(grants));
    }

    [Fact]
    public void Grants_of_one_scope_are_merged_and_an_unlimited_one_wins()
    {
        Assert.Equal(["pypi:read=numpy,scipy"], TokenGrant.ParseAll(["pypi:read=numpy", "pypi:read=scipy,NUMPY"]).Select(g => g.ToString()));
        Assert.Equal(["pypi:read"], TokenGrant.ParseAll(["pypi:read=numpy", "pypi:read"]).Select(g => g.ToString()));
    }

    [Theory]
    [InlineData("pypi:write")]
    [InlineData("admin=org/")]
    [InlineData("read=numpy")]
    [InlineData("pypi:read=")]
    [InlineData("pypi:read=num py")]
    [InlineData("hf:read=noslash")]
    [InlineData("hf:read=a/b/c")]
    public void Malformed_grants_are_refused(string text) => Assert.Throws<FormatException>(() => TokenGrant.Parse(text));

    [Fact]
    public void A_refusal_names_what_was_missing()
    {
        Assert.Contains("numpy", new TokenAccess(TokenScope.PypiRead, "numpy").Refusal(), StringComparison.Ordinal);
        Assert.Contains("admin", TokenAccess.Admin.Refusal(), StringComparison.Ordinal);
    }
}
