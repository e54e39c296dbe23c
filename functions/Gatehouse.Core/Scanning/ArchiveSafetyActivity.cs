using Microsoft.DurableTask;

namespace Gatehouse.Scanning;

/// <summary>Archive bombs, traversal, symlinks and nesting in wheels and sdists.</summary>
public sealed class ArchiveSafetyActivity : TaskActivity<ScanRequest, CheckResult>
{
    public override Task<CheckResult> RunAsync(TaskActivityContext context, ScanRequest input) => throw new NotImplementedException();
}
