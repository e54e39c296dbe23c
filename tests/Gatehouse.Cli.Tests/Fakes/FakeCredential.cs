using System.Collections.Concurrent;
using Azure.Core;

namespace Gatehouse.Cli.Tests.Fakes;

/// <summary>A TokenCredential that hands out one fixed token and records the scopes it was asked for.</summary>
public sealed class FakeCredential : TokenCredential
{
    public const string Token = "fake-arm-token-7f3c";

    public ConcurrentQueue<string> Scopes { get; } = new();

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        foreach (var scope in requestContext.Scopes)
        {
            Scopes.Enqueue(scope);
        }
        return new AccessToken(Token, DateTimeOffset.UtcNow.AddHours(1));
    }

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        ValueTask.FromResult(GetToken(requestContext, cancellationToken));
}
