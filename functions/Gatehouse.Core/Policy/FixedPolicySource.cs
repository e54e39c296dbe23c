using Gatehouse.Pipeline;

namespace Gatehouse.Policy;

/// <summary>One policy that never changes: for a dry run, the CLI, and tests.</summary>
public sealed class FixedPolicySource(IDecisionPolicy policy) : IPolicySource
{
    public ValueTask<IDecisionPolicy> CurrentAsync(CancellationToken cancellationToken) => ValueTask.FromResult(policy);
}
