using Microsoft.DurableTask;

namespace Gatehouse.Scanning;

/// <summary>One scan per content: fans out every check in parallel, then records the verdict.</summary>
public sealed class ScanArtifactOrchestrator : TaskOrchestrator<ScanRequest, Verdict>
{
    public override Task<Verdict> RunAsync(TaskOrchestrationContext context, ScanRequest input) => throw new NotImplementedException();
}
