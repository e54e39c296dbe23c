using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;

namespace Gatehouse.Cli.Deploy;

/// <summary>How often <c>gatehouse deploy</c> polls, and how long it retries the code upload while storage access propagates.</summary>
internal sealed record DeployTiming(TimeSpan ArmPollInterval, TimeSpan KuduPollInterval, TimeSpan StorageAccessRetryInterval, TimeSpan StorageAccessRetryWindow)
{
    /// <summary>Used when the service sends no Retry-After: ARM deployments take minutes; Kudu asks for about one poll a second.</summary>
    public static DeployTiming Azure { get; } = new(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(3));
}

/// <summary>
/// What <c>gatehouse deploy</c> takes from its surroundings: the Azure credential, the HTTP transport (tests pin their
/// loopback server's certificate there), the clock, where <c>tools/bicep</c> lives, the environment variables, and timing.
/// </summary>
internal sealed record DeployServices(
    Func<TokenCredential> Credential,
    HttpPipelineTransport? Transport,
    TimeProvider Time,
    string ToolsDirectory,
    Func<string, string?> Environment,
    DeployTiming Timing)
{
    public static DeployServices Default { get; } = new(
        () => new DefaultAzureCredential(),
        null,
        TimeProvider.System,
        AppContext.BaseDirectory,
        System.Environment.GetEnvironmentVariable,
        DeployTiming.Azure);
}
