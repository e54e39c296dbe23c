using Gatehouse.Tokens;

namespace Gatehouse.Core.Tests.Tokens;

/// <summary>The oci:read scope: image repositories as clients name them, Docker Hub's library/ on both sides, and what it does not widen.</summary>
public sealed class OciReadScopeTests
{
    private static bool Allows(string grants, string? image) =>
        new TokenAccess(TokenScope.OciRead, image).AllowedBy(TokenGrant.ParseAll(grants.Split(' ')));

    [Theory]
    [InlineData("oci:read", "anything/at/all", true)]
    [InlineData("oci:read=alpine", "library/alpine", true)]
    [InlineData("oci:read=alpine", "alpine", true)]
    [InlineData("oci:read=library/alpine", "alpine", true)]
    [InlineData("oci:read=alpine", "alpine2", false)]
    [InlineData("oci:read=alpine", "someone/alpine", false)]
    [InlineData("oci:read=library/*", "python", true)]
    [InlineData("oci:read=library/*", "bitnami/redis", false)]
    [InlineData("oci:read=ghcr.io/org/", "ghcr.io/org/image", true)]
    [InlineData("oci:read=ghcr.io/org/", "ghcr.io/org/team/image", true)]
    [InlineData("oci:read=ghcr.io/org/", "ghcr.io/organisation/image", false)]
    [InlineData("oci:read=ghcr.io/org/", "org/image", false)]
    [InlineData("oci:read=py*", "python", true)]
    [InlineData("oci:read=*", "ghcr.io/x/y", true)]
    [InlineData("oci:read=library/alpine,ghcr.io/org/", "ghcr.io/org/x", true)]
    public void Image_repositories_match_by_name_prefix_or_glob_with_official_images_under_library(string grant, string image, bool allowed) =>
        Assert.Equal(allowed, Allows(grant, image));

    [Fact]
    public void Oci_read_opens_no_other_remote_and_no_other_scope_opens_images_but_admin()
    {
        Assert.False(new TokenAccess(TokenScope.PypiRead, "numpy").AllowedBy(TokenGrant.ParseAll(["oci:read"])));
        Assert.False(new TokenAccess(TokenScope.HfRead, "org/repo").AllowedBy(TokenGrant.ParseAll(["oci:read"])));
        Assert.False(Allows("pypi:read hf:read uploads:write", "alpine"));
        Assert.True(Allows("admin", "ghcr.io/org/x"));
        Assert.True(TokenAccess.AnyRead.AllowedBy(TokenGrant.ParseAll(["oci:read=alpine"])));
    }

    [Fact]
    public void Read_stays_the_two_reads_of_before_so_stored_tokens_do_not_gain_images()
    {
        Assert.Equal(["pypi:read", "hf:read"], TokenGrant.ParseAll(["read"]).Select(g => g.ToString()));
        Assert.False(Allows("read", "alpine"));
        // Rows of tokens made before grants were written keep only the flags' name; it must read back without oci:read.
        var stored = Enum.Parse<TokenScope>(TokenScope.Read.ToString());
        Assert.DoesNotContain(TokenScope.OciRead, TokenScopes.Split(stored));
    }

    [Fact]
    public void A_token_with_oci_read_writes_and_reads_back_its_grants()
    {
        var grants = TokenGrant.ParseAll(["pypi:read=numpy", "oci:read=library/*,ghcr.io/org/"]);
        Assert.Equal(["pypi:read=numpy", "oci:read=library/*,ghcr.io/org/"], grants.Select(g => g.ToString()));
        var scope = TokenGrant.ScopesOf(grants);
        Assert.Equal(scope, Enum.Parse<TokenScope>(scope.ToString()));
        Assert.Equal(grants.Select(g => g.ToString()), TokenGrant.ParseAll(string.Join(' ', grants).Split(' ')).Select(g => g.ToString()));
    }

    [Theory]
    [InlineData("oci:read=../etc")]
    [InlineData("oci:read=a//b")]
    [InlineData("oci:read=a b")]
    [InlineData("oci:read=a\\b")]
    [InlineData("oci:read=")]
    public void Resources_that_are_no_image_name_are_refused(string text)
    {
        var error = Assert.Throws<FormatException>(() => TokenGrant.Parse(text));
        Assert.NotEmpty(error.Message);
    }

    [Fact]
    public void An_unknown_scope_lists_every_scope_from_one_place()
    {
        var error = Assert.Throws<FormatException>(() => TokenGrant.Parse("oci:write"));
        Assert.Contains(TokenScopes.Listing, error.Message, StringComparison.Ordinal);
        foreach (var name in TokenScopes.ByName.Keys)
        {
            Assert.Contains(name, TokenScopes.Listing, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_refusal_names_the_image_and_the_scope()
    {
        Assert.Equal("This token may not pull the image repository ghcr.io/org/x (scope oci:read)", new TokenAccess(TokenScope.OciRead, "ghcr.io/org/x").Refusal());
    }
}
