using System.Net.Sockets;
using Azure.Storage.Blobs;

namespace Gatehouse.Host.Tests;

/// <summary>
/// The Azurite instance the tests run against: its connection string comes from <c>GATEHOUSE_TEST_STORAGE</c>, which
/// <c>scripts/test.sh</c> exports after starting Azurite. A missing variable or an unreachable emulator fails the test
/// with instructions; it never skips.
/// </summary>
public sealed class AzuriteStorage
{
    public const string ConnectionStringVariable = "GATEHOUSE_TEST_STORAGE";

    const int MaxTaskHubNameLength = 45;

    static readonly Lazy<string> Checked = new(ReadAndProbe, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Connection string of the test Azurite (a secret in general; never print it).</summary>
    public string ConnectionString => Checked.Value;

    /// <summary>
    /// A task hub name of its own for one test: letters and digits, starts with a letter, at most 45 characters.
    /// </summary>
    public static string NewTaskHubName(string purpose)
    {
        string prefix = new(purpose.Where(char.IsAsciiLetter).Take(12).ToArray());
        string name = "t" + prefix + Guid.NewGuid().ToString("N");
        return name.Length <= MaxTaskHubNameLength ? name : name[..MaxTaskHubNameLength];
    }

    static string ReadAndProbe()
    {
        string? connectionString = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            Assert.Fail(
                $"{ConnectionStringVariable} is not set. These tests need a running Azurite: run scripts/test.sh, or " +
                "`source scripts/lib/azurite.sh; azurite_install; azurite_start /tmp/az1 21000 21001 21002; " +
                $"export {ConnectionStringVariable}=$(azurite_connection_string 21000 21001 21002)` before `dotnet test`.");
        }

        Uri blobEndpoint;
        try
        {
            blobEndpoint = new BlobServiceClient(connectionString).Uri;
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            Assert.Fail($"{ConnectionStringVariable} is not a valid storage connection string ({e.GetType().Name}).");
            throw;
        }

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            socket.ConnectAsync(blobEndpoint.Host, blobEndpoint.Port, timeout.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            Assert.Fail(
                $"Azurite is not reachable at {blobEndpoint.GetLeftPart(UriPartial.Authority)} ({ConnectionStringVariable} is set): " +
                $"{e.Message}. Start it with scripts/lib/azurite.sh azurite_start.");
        }

        return connectionString;
    }
}
