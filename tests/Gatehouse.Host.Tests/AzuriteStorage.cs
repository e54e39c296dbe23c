using Gatehouse.Tests.Shared;

namespace Gatehouse.Host.Tests;

/// <summary>
/// The Azurite instance the tests run against: its connection string comes from <c>GATEHOUSE_TEST_STORAGE</c>, which
/// <c>scripts/test.sh</c> exports after starting Azurite. A missing variable or an unreachable emulator fails the test
/// with instructions; it never skips.
/// </summary>
public sealed class AzuriteStorage
{
    public const string ConnectionStringVariable = TestAzurite.Variable;

    private const int MaxTaskHubNameLength = 45;

    /// <summary>Connection string of the test Azurite (a secret in general; never print it).</summary>
    public string ConnectionString => TestAzurite.ConnectionString;

    /// <summary>
    /// A task hub name of its own for one test: letters and digits, starts with a letter, at most 45 characters.
    /// </summary>
    public static string NewTaskHubName(string purpose)
    {
        string prefix = new(purpose.Where(char.IsAsciiLetter).Take(12).ToArray());
        var name = "t" + prefix + Guid.NewGuid().ToString("N");
        return name.Length <= MaxTaskHubNameLength ? name : name[..MaxTaskHubNameLength];
    }
}
