using System.Net.Sockets;
using Azure.Storage.Blobs;
using Xunit;

namespace Gatehouse.Tests.Shared;

/// <summary>
/// The Azurite every integration test runs against: its connection string comes from <c>GATEHOUSE_TEST_STORAGE</c>, which
/// <c>scripts/test.sh</c> exports after starting Azurite. A missing variable or an unreachable emulator fails the test
/// with instructions; it never skips. Linked into each test project that needs storage.
/// </summary>
internal static class TestAzurite
{
    public const string Variable = "GATEHOUSE_TEST_STORAGE";

    private static readonly Lazy<string> Checked = new(ReadAndProbe, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Connection string of the test Azurite (a secret in general; never print it).</summary>
    public static string ConnectionString => Checked.Value;

    private static string ReadAndProbe()
    {
        var connectionString = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            Assert.Fail(
                $"{Variable} is not set. These tests need a running Azurite: run scripts/test.sh, or " +
                "`source scripts/lib/azurite.sh; azurite_install; azurite_start /tmp/az1 21000 21001 21002; " +
                $"export {Variable}=$(azurite_connection_string 21000 21001 21002)` before `dotnet test`.");
        }
        Uri blobEndpoint;
        try
        {
            blobEndpoint = new BlobServiceClient(connectionString).Uri;
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            Assert.Fail($"{Variable} is not a valid storage connection string ({e.GetType().Name}).");
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
            Assert.Fail($"Azurite is not reachable at {blobEndpoint.GetLeftPart(UriPartial.Authority)} ({Variable} is set): {e.Message}. " +
                "Start it with scripts/lib/azurite.sh azurite_start.");
        }
        return connectionString;
    }
}
