using System.Text;
using Gatehouse.Tokens;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Core.Tests.Tokens;

public class RequestCredentialsTests
{
    private const string Token = "gh_0123456789abcdefghijklmnopqrstuv";

    private static IReadOnlyList<string> Candidates(string? authorization)
    {
        var context = new DefaultHttpContext();
        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }
        return RequestCredentials.Candidates(context.Request);
    }

    private static string Basic(string userAndPassword) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(userAndPassword));

    [Theory]
    [InlineData("Bearer hf_ght_0123456789ab_secret")]
    [InlineData("Bearer ght_0123456789ab_secret")]
    public void An_hf_prefix_in_front_of_an_entitlement_token_is_dropped_for_huggingface_js(string header) =>
        Assert.Equal(["ght_0123456789ab_secret"], Candidates(header));

    [Fact]
    public void Only_an_hf_prefix_in_front_of_an_entitlement_token_is_dropped()
    {
        Assert.Equal(["hf_realhubtoken"], Candidates("Bearer hf_realhubtoken"));
        Assert.Equal(["ght_0123456789ab_secret"], Candidates(Basic("hf_ght_0123456789ab_secret:")));
    }

    [Fact]
    public void Basic_with_the_token_as_username_and_an_empty_password_gives_the_token()
    {
        Assert.Equal([Token], Candidates(Basic(Token + ":")));
    }

    [Fact]
    public void Basic_with_the_token_as_username_and_no_colon_gives_the_token()
    {
        Assert.Equal([Token], Candidates(Basic(Token)));
    }

    [Theory]
    [InlineData("__token__")]
    [InlineData("alice")]
    public void Basic_with_the_token_as_password_gives_both_parts(string user)
    {
        Assert.Equal([user, Token], Candidates(Basic($"{user}:{Token}")));
    }

    [Fact]
    public void Basic_with_an_empty_username_gives_only_the_password()
    {
        Assert.Equal([Token], Candidates(Basic(":" + Token)));
    }

    [Fact]
    public void A_password_containing_colons_is_kept_whole()
    {
        Assert.Equal(["u", "a:b:c"], Candidates(Basic("u:a:b:c")));
    }

    [Fact]
    public void The_same_value_as_username_and_password_is_one_candidate()
    {
        Assert.Equal([Token], Candidates(Basic($"{Token}:{Token}")));
    }

    [Theory]
    [InlineData("Bearer ")]
    [InlineData("bearer ")]
    [InlineData("BEARER ")]
    public void A_bearer_token_is_the_candidate(string scheme)
    {
        Assert.Equal([Token], Candidates(scheme + Token));
    }

    [Fact]
    public void An_empty_bearer_token_gives_nothing()
    {
        Assert.Empty(Candidates("Bearer    "));
    }

    [Theory]
    [InlineData("Basic !!!not-base64!!!")]
    [InlineData("Basic abc")]
    [InlineData("Basic ")]
    public void Malformed_basic_credentials_give_nothing(string header)
    {
        Assert.Empty(Candidates(header));
    }

    [Fact]
    public void Basic_with_an_empty_username_and_password_gives_nothing()
    {
        Assert.Empty(Candidates(Basic(":")));
    }

    [Fact]
    public void No_authorization_header_gives_nothing()
    {
        Assert.Empty(Candidates(null));
    }

    [Theory]
    [InlineData("Digest username=\"x\"")]
    [InlineData("Token abc")]
    [InlineData("gh_0123456789abcdefghijklmnopqrstuv")]
    public void Other_schemes_give_nothing(string header)
    {
        Assert.Empty(Candidates(header));
    }
}
