using Microsoft.DurableTask;

namespace Gatehouse.Scanning;

/// <summary>Evaluates the policy, stores the verdict, and promotes or quarantines the staged blob.</summary>
public sealed class RecordVerdictActivity : TaskActivity<VerdictInput, Verdict>
{
    public override Task<Verdict> RunAsync(TaskActivityContext context, VerdictInput input) => throw new NotImplementedException();
}
