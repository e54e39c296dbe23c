using Gatehouse.Oci.Auth;

namespace Gatehouse.Core.Tests.Oci.Auth;

/// <summary>Resource scopes as the token spec writes them (scope.md): a name may hold a port's colon, a class is ignored.</summary>
public sealed class OciAccessTests
{
    [Theory]
    [InlineData("repository:library/alpine:pull", "repository", "library/alpine", "pull")]
    [InlineData("repository:samalba/my-app:pull,push", "repository", "samalba/my-app", "pull push")]
    [InlineData("repository:localhost:5000/team/app:pull", "repository", "localhost:5000/team/app", "pull")]
    [InlineData("repository(plugin):vieux/sshfs:pull", "repository", "vieux/sshfs", "pull")]
    [InlineData("registry:catalog:*", "registry", "catalog", "*")]
    public void A_scope_is_type_name_and_actions(string scope, string type, string name, string actions)
    {
        var access = OciAccess.Parse(scope)!;
        Assert.Equal((type, name, actions), (access.Type, access.Name, string.Join(' ', access.Actions)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("repository")]
    [InlineData("repository:alpine")]
    [InlineData(":alpine:pull")]
    [InlineData("repository::pull")]
    public void Anything_else_is_no_scope(string scope) => Assert.Null(OciAccess.Parse(scope));

    [Fact]
    public void Scope_parameters_may_each_hold_several_scopes_separated_by_spaces()
    {
        Assert.Equal(["repository:a:pull", "repository:b:pull", "repository:c:pull"],
            OciAccess.SplitScopes(["repository:a:pull repository:b:pull", "repository:c:pull", null, "repository:a:pull"]));
    }
}
