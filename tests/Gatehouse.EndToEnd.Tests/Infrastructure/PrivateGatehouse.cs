namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>
/// A Gatehouse on an Azurite of its own, for tests whose policy, tokens, outbox or tables must not reach the other
/// tests' hosts: started together, stopped host first.
/// </summary>
public sealed class PrivateGatehouse : IAsyncDisposable
{
    private PrivateGatehouse(PrivateAzurite azurite, GatehouseStack stack)
    {
        Azurite = azurite;
        Stack = stack;
    }

    public PrivateAzurite Azurite { get; }

    public GatehouseStack Stack { get; }

    /// <summary>The private Azurite's connection string (for rows written straight into storage).</summary>
    public string ConnectionString => Azurite.ConnectionString;

    public static async Task<PrivateGatehouse> StartAsync(string name, Func<HostSettings, HostSettings>? configure = null)
    {
        var azurite = await PrivateAzurite.StartAsync();
        try
        {
            return new PrivateGatehouse(azurite, await GatehouseStack.StartAsync(name, configure, storageConnectionString: azurite.ConnectionString));
        }
        catch
        {
            await azurite.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Stack.DisposeAsync();
        }
        finally
        {
            await Azurite.DisposeAsync();
        }
    }
}
