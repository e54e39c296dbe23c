using System.Text;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Tokens;

/// <summary>
/// Reads the token a client presents: pip's Basic auth (token as username or password) or a Bearer token. An
/// <c>hf_</c> in front of an entitlement token is dropped: <c>@huggingface/hub</c> refuses access tokens that do not
/// start with <c>hf_</c>, so its users pass <c>hf_ght_…</c>.
/// </summary>
public static class RequestCredentials
{
    private const string HuggingFacePrefix = "hf_";

    /// <summary>The candidate secrets in the request, at most two (Basic user and password).</summary>
    public static IReadOnlyList<string> Candidates(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = Unwrap(header["Bearer ".Length..].Trim());
            return token.Length > 0 ? [token] : [];
        }
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            string decoded;
            try
            {
                decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
            }
            catch (FormatException)
            {
                return [];
            }
            var colon = decoded.IndexOf(':');
            var user = colon < 0 ? decoded : decoded[..colon];
            var password = colon < 0 ? "" : decoded[(colon + 1)..];
            return new[] { user, password }.Where(s => s.Length > 0).Select(Unwrap).Distinct().ToArray();
        }
        return [];
    }

    private static string Unwrap(string token) =>
        token.StartsWith(HuggingFacePrefix + EntitlementTokenService.Prefix, StringComparison.Ordinal) ? token[HuggingFacePrefix.Length..] : token;
}
