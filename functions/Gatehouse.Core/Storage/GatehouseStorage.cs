using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Configuration;

namespace Gatehouse.Storage;

/// <summary>
/// The storage account: Gatehouse's blob containers and tables, named below. Connection comes from
/// <c>AzureWebJobsStorage</c> (a connection string locally) or <c>AzureWebJobsStorage__blobServiceUri</c> /
/// <c>__tableServiceUri</c> with managed identity in Azure, exactly as the Functions host reads it.
/// </summary>
public sealed class GatehouseStorage
{
    public const string StagingContainer = "staging";
    public const string ArtifactsContainer = "artifacts";
    public const string QuarantineContainer = "quarantine";
    public const string UploadsContainer = "uploads";
    public const string ReportsContainer = "reports";
    public const string ConfigContainer = "config";
    /// <summary>Upstream index pages and core-metadata files, kept so they can be served stale when the upstream fails.</summary>
    public const string UpstreamCacheContainer = "upstream-cache";

    public const string VerdictsTable = "verdicts";
    public const string ReferencesTable = "references";
    public const string TokensTable = "tokens";
    public const string AuditTable = "audit";
    /// <summary>The OSV advisories mirror: one row per (normalised project, advisory id), plus the last import's row.</summary>
    public const string VulnerabilitiesTable = "vulnerabilities";

    /// <summary>What was first seen of a name (a Hugging Face repo's author and creation time), to notice it reused.</summary>
    public const string NamesTable = "names";

    /// <summary>Reviewers' releases and blocks per content: the one in force (row <c>active</c>) and their history.</summary>
    public const string OverridesTable = "overrides";

    /// <summary>The event outbox: notes of events waiting for delivery, events refused for good, the dispatcher's lease.</summary>
    public const string EventsTable = "events";

    /// <summary>Console sign-ins: the hash of each session cookie, the admin token it stands for, its CSRF token and expiry.</summary>
    public const string ConsoleSessionsTable = "consolesessions";

    /// <summary>Which blobs each container repository may serve (the blobs of images allowed there).</summary>
    public const string OciBlobsTable = "ociblobs";

    private static readonly string[] Containers =
        [StagingContainer, ArtifactsContainer, QuarantineContainer, UploadsContainer, ReportsContainer, ConfigContainer, UpstreamCacheContainer];
    private static readonly string[] Tables = [VerdictsTable, ReferencesTable, TokensTable, AuditTable, VulnerabilitiesTable, NamesTable, EventsTable, OverridesTable, ConsoleSessionsTable, OciBlobsTable];

    public GatehouseStorage(BlobServiceClient blobs, TableServiceClient tables)
    {
        Blobs = blobs;
        TablesService = tables;
    }

    public BlobServiceClient Blobs { get; }
    public TableServiceClient TablesService { get; }

    public BlobContainerClient Container(string name) => Blobs.GetBlobContainerClient(name);
    public TableClient Table(string name) => TablesService.GetTableClient(name);
    public BlockBlobClient Staging(string sha256) => Container(StagingContainer).GetBlockBlobClient(sha256);
    public BlockBlobClient Artifact(string sha256) => Container(ArtifactsContainer).GetBlockBlobClient(sha256);
    public BlockBlobClient Quarantined(string sha256) => Container(QuarantineContainer).GetBlockBlobClient(sha256);

    /// <summary>Creates every container and table; safe to call on every start.</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        foreach (var c in Containers)
        {
            await Container(c).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }
        foreach (var t in Tables)
        {
            await TablesService.CreateTableIfNotExistsAsync(t, cancellationToken);
        }
    }

    /// <summary>Builds the clients from configuration, with the Functions host's setting names.</summary>
    public static GatehouseStorage FromConfiguration(IConfiguration configuration)
    {
        const string key = "AzureWebJobsStorage";
        var connectionString = configuration[key];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return new GatehouseStorage(new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        }
        var section = configuration.GetSection(key);
        var blobUri = section["blobServiceUri"];
        var tableUri = section["tableServiceUri"];
        if (string.IsNullOrWhiteSpace(blobUri) || string.IsNullOrWhiteSpace(tableUri))
        {
            throw new InvalidOperationException(
                "Storage is not configured: set AzureWebJobsStorage to a connection string, or AzureWebJobsStorage__blobServiceUri and AzureWebJobsStorage__tableServiceUri for managed identity.");
        }
        var credential = IdentityCredential(configuration);
        return new GatehouseStorage(new BlobServiceClient(new Uri(blobUri), credential), new TableServiceClient(new Uri(tableUri), credential));
    }

    /// <summary>
    /// The app's identity, as storage uses it: the user-assigned managed identity named by
    /// <c>AzureWebJobsStorage__clientId</c>, else <see cref="DefaultAzureCredential"/>. Other Azure clients (Event Grid) use the same.
    /// </summary>
    public static TokenCredential IdentityCredential(IConfiguration configuration) =>
        configuration.GetSection("AzureWebJobsStorage")["clientId"] is { Length: > 0 } clientId
            ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new DefaultAzureCredential();
}
