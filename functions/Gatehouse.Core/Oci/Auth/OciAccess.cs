namespace Gatehouse.Oci.Auth;

/// <summary>
/// One entry of a token's <c>access</c> claim, and of a request's <c>scope</c> (Docker registry token spec, scope.md:
/// <c>repository:samalba/my-app:pull,push</c>; the name may hold one <c>:</c> for a registry's port, and a resource
/// class such as <c>repository(plugin)</c> is ignored).
/// </summary>
public sealed record OciAccess(string Type, string Name, IReadOnlyList<string> Actions)
{
    public const string Repository = "repository";
    public const string Pull = "pull";

    /// <summary>Pull access to one repository, as Gatehouse grants it.</summary>
    public static OciAccess PullOf(string name) => new(Repository, name, [Pull]);

    /// <summary>The challenge's <c>scope</c> value for pulling <paramref name="name"/>.</summary>
    public static string PullScope(string name) => $"{Repository}:{name}:{Pull}";

    /// <summary>Parses one resource scope; null when it is not <c>type:name:actions</c>.</summary>
    public static OciAccess? Parse(string scope)
    {
        var firstColon = scope.IndexOf(':', StringComparison.Ordinal);
        var lastColon = scope.LastIndexOf(':');
        if (firstColon <= 0 || lastColon <= firstColon + 1)
        {
            return null;
        }
        var type = scope[..firstColon];
        var paren = type.IndexOf('(', StringComparison.Ordinal);
        type = paren < 0 ? type : type[..paren];
        var actions = scope[(lastColon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new OciAccess(type, scope[(firstColon + 1)..lastColon], actions);
    }

    /// <summary>Parses the <c>scope</c> parameters of a token request: each may hold several scopes separated by spaces.</summary>
    public static IReadOnlyList<string> SplitScopes(IEnumerable<string?> values) =>
        [.. values.SelectMany(v => (v ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct(StringComparer.Ordinal)];
}
