using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using Gatehouse.Audit;
using Gatehouse.Pipeline;
using Gatehouse.Storage;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Uploads;

/// <summary>What became of one version of an uploaded blob when it was prepared for its scan.</summary>
public enum UploadState
{
    /// <summary>Hashed and recorded: the reference names its sha256.</summary>
    Recorded,

    /// <summary>The blob changed or was deleted since this version was seen: the newer version is prepared on its own.</summary>
    Superseded,

    /// <summary>The name does not follow the layout (<see cref="UploadPath.Parse"/>): never served, never scanned.</summary>
    Unusable,
}

/// <summary>One version of an uploaded blob, prepared: its reference (sha256, size, where it lives) and who wrote it.</summary>
public sealed record PreparedUpload(UploadState State, ArtifactReference? Reference, string? Uploader, string? Message)
{
    public static PreparedUpload Superseded(string message) => new(UploadState.Superseded, null, null, message);
}

/// <summary>
/// Turns one version of a blob in <c>uploads</c> (name + ETag) into a recorded reference. The sha256 is the orchestration's
/// instance id, so it must be known before the scan starts: the blob is hashed first, read under <c>If-Match</c> of
/// that version's ETag (a blob rewritten while being read fails the read rather than mixing versions), and the
/// orchestration's fetch later reads it again into staging, which commits only bytes with that same sha256. Hashing
/// while staging instead would need the digest before it exists, or a second scan id scheme. The uploader is the
/// blob's <c>uploader</c> metadata (set by whoever wrote it; <c>PUT /uploads</c> sets the token's name), else "unknown";
/// it is recorded on the reference (column <c>Uploader</c>) and in the audit.
/// </summary>
public sealed class UploadIntake(UploadsRemote remote, IReferenceStore references, GatehouseStorage storage, IAuditLog audit, ILogger<UploadIntake> log)
{
    /// <summary>The blob metadata key naming who wrote an upload.</summary>
    public const string UploaderMetadata = "uploader";

    /// <summary>The uploader recorded when the blob names none.</summary>
    public const string UnknownUploader = "unknown";

    private const int BufferSize = 1024 * 1024;

    private readonly TableClient _references = storage.Table(GatehouseStorage.ReferencesTable);

    /// <summary>Hashes the version <paramref name="etag"/> of <paramref name="blobName"/> and records its reference and uploader.</summary>
    public async Task<PreparedUpload> PrepareAsync(string blobName, string etag, CancellationToken cancellationToken)
    {
        if (UploadPath.Parse(blobName) is not { } path)
        {
            log.LogWarning("Upload {BlobName} does not follow the uploads layout; it is not scanned or served", blobName);
            return new PreparedUpload(UploadState.Unusable, null, null, $"'{blobName}' is not a usable upload name");
        }
        var blob = remote.Container.GetBlobClient(blobName);
        var conditions = new BlobRequestConditions { IfMatch = new ETag(etag) };
        BlobProperties properties;
        string sha256;
        long size;
        try
        {
            properties = (await blob.GetPropertiesAsync(conditions, cancellationToken)).Value;
            (sha256, size) = await HashAsync(blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { Conditions = conditions }, cancellationToken),
                cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            log.LogInformation("Upload {BlobName} version {ETag} is gone or was rewritten ({Status}); its newer version is scanned on its own", blobName, etag, e.Status);
            return PreparedUpload.Superseded($"'{blobName}' changed or was deleted since version {etag}");
        }
        var uploadTime = properties.LastModified.ToString("O", CultureInfo.InvariantCulture);
        if (await references.GetAsync(path.Key, cancellationToken) is { Reference: var recorded }
            && recorded.ClientEtag != etag && string.CompareOrdinal(recorded.UploadTime, uploadTime) > 0)
        {
            // A newer version was prepared first (events may arrive out of order): it keeps the name.
            return PreparedUpload.Superseded($"'{blobName}' has a newer version recorded ({recorded.ClientEtag})");
        }
        var uploader = properties.Metadata.TryGetValue(UploaderMetadata, out var named) && !string.IsNullOrWhiteSpace(named) ? named : UnknownUploader;
        var reference = new ArtifactReference(UploadsRemote.Uploads, path.Key, path.Subject, path.FileName, sha256, size, remote.UrlOf(blobName).AbsoluteUri,
            uploadTime, etag);
        await references.RecordAsync(reference, cancellationToken);
        await _references.UpsertEntityAsync(new TableEntity(path.Key.Partition, path.Key.Row) { ["Uploader"] = uploader, ["BlobName"] = blobName },
            TableUpdateMode.Merge, cancellationToken);
        await audit.WriteAsync("upload", $"uploads {blobName} {sha256}", $"written by {uploader}, {size} bytes, version {etag}", cancellationToken);
        log.LogInformation("Upload {BlobName} by {Uploader} is {Sha256} ({Size} bytes, version {ETag})", blobName, uploader, sha256, size, etag);
        return new PreparedUpload(UploadState.Recorded, reference, uploader, null);
    }

    /// <summary>Who wrote the recorded upload at <paramref name="key"/>; null when none is recorded.</summary>
    public async Task<string?> UploaderOfAsync(ReferenceKey key, CancellationToken cancellationToken)
    {
        var row = await _references.GetEntityIfExistsAsync<TableEntity>(key.Partition, key.Row, ["Uploader"], cancellationToken);
        return row.HasValue ? row.Value!.GetString("Uploader") : null;
    }

    private static async Task<(string Sha256, long Size)> HashAsync(Task<Stream> opening, CancellationToken cancellationToken)
    {
        await using var body = await opening;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        long size = 0;
        try
        {
            int read;
            while ((read = await body.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                size += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return (Convert.ToHexStringLower(hash.GetHashAndReset()), size);
    }
}
