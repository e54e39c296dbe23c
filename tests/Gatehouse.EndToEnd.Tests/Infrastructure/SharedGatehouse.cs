namespace Gatehouse.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One Gatehouse (simulator, host process, token) shared by the tests that do not need a host of their own, so the
/// suite starts a host once instead of per test.
/// </summary>
public sealed class SharedGatehouse : IAsyncLifetime
{
    private GatehouseStack? _stack;

    public GatehouseStack Stack => _stack ?? throw new InvalidOperationException("The shared Gatehouse did not start.");

    public async Task InitializeAsync() => _stack = await GatehouseStack.StartAsync("shared");

    public async Task DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }
    }
}

/// <summary>Test classes in this collection share <see cref="SharedGatehouse"/>.</summary>
[CollectionDefinition(Name)]
public sealed class SharedGatehouseCollection : ICollectionFixture<SharedGatehouse>
{
    public const string Name = "Shared Gatehouse";
}
