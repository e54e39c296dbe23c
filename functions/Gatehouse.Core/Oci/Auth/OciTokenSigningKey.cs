using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage.Blobs.Models;
using Gatehouse.Configuration;
using Gatehouse.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Oci.Auth;

/// <summary>
/// The HMAC key that signs the OCI token endpoint's tokens: <see cref="OciOptions.TokenSigningKey"/> (a Key Vault
/// reference in Azure) when set; else a key generated once and kept as the blob <c>config/oci-token-signing-key</c>,
/// written only if absent so instances starting together agree on one (the loser reads the winner's). Never logged.
/// </summary>
public sealed class OciTokenSigningKey(GatehouseStorage storage, IOptions<GatehouseOptions> options, ILogger<OciTokenSigningKey> log)
{
    /// <summary>The blob in the <c>config</c> container that holds the generated key (base64).</summary>
    public const string BlobName = "oci-token-signing-key";

    /// <summary>HS256 needs a key at least as long as its hash (RFC 7518 section 3.2).</summary>
    public const int MinBytes = 32;

    private const int GeneratedBytes = 64;
    private const string Setting = "Gatehouse__Oci__TokenSigningKey";
    private readonly SemaphoreSlim _loading = new(1, 1);
    private byte[]? _key;

    /// <summary>The key; read (or made) once per instance. Throws <see cref="InvalidOperationException"/> for a configured key that is not one.</summary>
    public async Task<byte[]> GetAsync(CancellationToken cancellationToken)
    {
        if (_key is { } known)
        {
            return known;
        }
        await _loading.WaitAsync(cancellationToken);
        try
        {
            var configured = options.Value.Oci.TokenSigningKey;
            // App Service passes a Key Vault reference it could not resolve (secret not set yet, role missing) through as its
            // own text: sign with the stored key until it resolves, rather than refuse every pull.
            if (configured?.StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase) == true)
            {
                log.LogError("{Setting} is an unresolved Key Vault reference; signing with the key kept in {Container}/{Blob} until the secret oci-token-signing-key resolves",
                    Setting, GatehouseStorage.ConfigContainer, BlobName);
                configured = null;
            }
            return _key ??= configured is { Length: > 0 } ? Parse(configured) : await StoredAsync(cancellationToken);
        }
        finally
        {
            _loading.Release();
        }
    }

    private static byte[] Parse(string configured)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(configured.Trim());
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"{Setting} is not base64; generate one with `openssl rand -base64 {GeneratedBytes}`");
        }
        return key.Length >= MinBytes ? key : throw new InvalidOperationException($"{Setting} holds {key.Length} bytes; HS256 needs at least {MinBytes}");
    }

    private async Task<byte[]> StoredAsync(CancellationToken cancellationToken)
    {
        var blob = storage.Container(GatehouseStorage.ConfigContainer).GetBlobClient(BlobName);
        if (await ReadAsync(blob, cancellationToken) is { } existing)
        {
            return existing;
        }
        var key = RandomNumberGenerator.GetBytes(GeneratedBytes);
        try
        {
            await blob.UploadAsync(BinaryData.FromString(Convert.ToBase64String(key)),
                new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken);
            log.LogInformation("Generated the OCI token signing key and kept it in {Container}/{Blob}", GatehouseStorage.ConfigContainer, BlobName);
            return key;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            // Another instance wrote it first: sign with its key, so tokens from either instance check out on both.
            return await ReadAsync(blob, cancellationToken) ?? throw new InvalidOperationException($"{GatehouseStorage.ConfigContainer}/{BlobName} was written and then vanished");
        }
    }

    private static async Task<byte[]?> ReadAsync(Azure.Storage.Blobs.BlobClient blob, CancellationToken cancellationToken)
    {
        try
        {
            var content = await blob.DownloadContentAsync(cancellationToken);
            var key = Convert.FromBase64String(Encoding.ASCII.GetString(content.Value.Content.ToMemory().Span).Trim());
            return key.Length >= MinBytes ? key : throw new InvalidOperationException($"{GatehouseStorage.ConfigContainer}/{BlobName} holds {key.Length} bytes; delete it to have a new key generated");
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"{GatehouseStorage.ConfigContainer}/{BlobName} is not base64; delete it to have a new key generated");
        }
    }
}
