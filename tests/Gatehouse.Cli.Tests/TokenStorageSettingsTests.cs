using Gatehouse.Cli.Tokens;

namespace Gatehouse.Cli.Tests;

/// <summary>
/// <c>gatehouse token … --storage</c>: a connection string is used as it is (Azurite, or accounts with keys); a blob
/// endpoint URL becomes the identity-based settings the Functions host uses, for accounts with shared keys off.
/// </summary>
public sealed class TokenStorageSettingsTests
{
    [Fact]
    public void A_connection_string_is_passed_through()
    {
        const string connection = "UseDevelopmentStorage=true";
        Assert.Equal(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = connection }, TokenCommand.StorageSettings(connection));
    }

    [Theory]
    [InlineData("https://stgatehouse.blob.core.windows.net", "https://stgatehouse.blob.core.windows.net/", "https://stgatehouse.table.core.windows.net/")]
    [InlineData("https://stgatehouse.blob.core.windows.net/artifacts", "https://stgatehouse.blob.core.windows.net/", "https://stgatehouse.table.core.windows.net/")]
    [InlineData("https://st1.blob.core.chinacloudapi.cn/", "https://st1.blob.core.chinacloudapi.cn/", "https://st1.table.core.chinacloudapi.cn/")]
    public void A_blob_endpoint_gives_the_blob_and_table_service_uris_for_managed_identity(string storage, string blob, string table)
    {
        var settings = TokenCommand.StorageSettings(storage);

        Assert.Equal(new Dictionary<string, string?> { ["AzureWebJobsStorage:blobServiceUri"] = blob, ["AzureWebJobsStorage:tableServiceUri"] = table }, settings);
    }

    [Fact]
    public void An_https_url_that_is_not_a_blob_endpoint_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => TokenCommand.StorageSettings("https://example.com/"));
        Assert.Contains("is not a blob endpoint", error.Message);
    }
}
