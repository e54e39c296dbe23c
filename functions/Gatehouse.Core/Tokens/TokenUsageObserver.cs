using Gatehouse.Pipeline;

namespace Gatehouse.Tokens;

/// <summary>Counts every file served against the token that asked for it: downloads, bytes, the rolling day's bytes, last use.</summary>
public sealed class TokenUsageObserver(EntitlementTokenService tokens) : IDownloadObserver
{
    public Task ServedAsync(Download download, CancellationToken cancellationToken) =>
        download.Caller?.TokenId is { } id ? tokens.RecordDownloadAsync(id, download.Bytes, download.At, cancellationToken) : Task.CompletedTask;
}
