using Azure;
using Azure.Data.Tables;
using Gatehouse.Storage;

namespace Gatehouse.Pipeline;

/// <summary>Who is about to scan a content, so that a download and a prefetch never start its one scan twice.</summary>
public interface IScanClaims
{
    /// <summary>
    /// Claims the content's scan for <paramref name="owner"/>: true when nobody holds a claim younger than
    /// <paramref name="lifetime"/> (or <paramref name="owner"/> already holds it), false when someone else does.
    /// </summary>
    Task<bool> TryClaimAsync(string sha256, string owner, TimeSpan lifetime, CancellationToken cancellationToken);

    /// <summary>How old the current claim is, or null when there is none.</summary>
    Task<TimeSpan?> AgeAsync(string sha256, CancellationToken cancellationToken);

    /// <summary>Takes the claim whoever holds it (its holder gave up, or is the scan itself renewing it).</summary>
    Task TakeAsync(string sha256, string owner, CancellationToken cancellationToken);

    Task ReleaseAsync(string sha256, CancellationToken cancellationToken);
}

/// <summary>
/// Claims as a row <c>scan</c> in the content's <c>verdicts</c> partition. An insert wins a free claim; an expired one is
/// taken over with the row's ETag, so two contenders cannot both win.
/// </summary>
public sealed class ScanClaims(GatehouseStorage storage, TimeProvider time) : IScanClaims
{
    private const string Row = "scan";
    private readonly TableClient _table = storage.Table(GatehouseStorage.VerdictsTable);

    public async Task<bool> TryClaimAsync(string sha256, string owner, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        try
        {
            await _table.AddEntityAsync(Claim(sha256, owner), cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
        }
        var found = await _table.GetEntityIfExistsAsync<TableEntity>(sha256, Row, cancellationToken: cancellationToken);
        if (!found.HasValue || found.Value is not { } current)
        {
            return await TryClaimAsync(sha256, owner, lifetime, cancellationToken);
        }
        if (current.GetString("Owner") == owner)
        {
            return true;
        }
        if (time.GetUtcNow() - (current.GetDateTimeOffset("ClaimedAt") ?? DateTimeOffset.MinValue) < lifetime)
        {
            return false;
        }
        try
        {
            await _table.UpdateEntityAsync(Claim(sha256, owner), current.ETag, TableUpdateMode.Replace, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            // Someone else took or released it in between.
            return false;
        }
    }

    public async Task<TimeSpan?> AgeAsync(string sha256, CancellationToken cancellationToken)
    {
        var found = await _table.GetEntityIfExistsAsync<TableEntity>(sha256, Row, cancellationToken: cancellationToken);
        return found is { HasValue: true, Value: { } claim } ? time.GetUtcNow() - (claim.GetDateTimeOffset("ClaimedAt") ?? DateTimeOffset.MinValue) : null;
    }

    public Task TakeAsync(string sha256, string owner, CancellationToken cancellationToken) =>
        _table.UpsertEntityAsync(Claim(sha256, owner), TableUpdateMode.Replace, cancellationToken);

    public async Task ReleaseAsync(string sha256, CancellationToken cancellationToken)
    {
        try
        {
            await _table.DeleteEntityAsync(sha256, Row, cancellationToken: cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
        }
    }

    private TableEntity Claim(string sha256, string owner) => new(sha256, Row) { ["Owner"] = owner, ["ClaimedAt"] = time.GetUtcNow() };
}
