using Microsoft.DurableTask;

namespace Gatehouse.Scans;

/// <summary>One scan per content: fans out every check in parallel, then records the verdict.</summary>
public sealed class ScanArtifactOrchestrator : TaskOrchestrator<ScanRequest, Verdict>
{
    private static readonly TaskOptions Retry = TaskOptions.FromRetryPolicy(new RetryPolicy(3, TimeSpan.FromSeconds(2), backoffCoefficient: 2));

    public override async Task<Verdict> RunAsync(TaskOrchestrationContext context, ScanRequest input)
    {
        var checks = ScanTasks.Checks.Select(name => RunCheckAsync(context, name, input)).ToList();
        var results = await Task.WhenAll(checks);
        return await context.CallActivityAsync<Verdict>(nameof(RecordVerdictActivity), new VerdictInput(input, results), Retry);
    }

    // A check that keeps failing becomes an error result, which the policy turns into a quarantine (fail closed).
    private static async Task<CheckResult> RunCheckAsync(TaskOrchestrationContext context, string check, ScanRequest input)
    {
        try
        {
            return await context.CallActivityAsync<CheckResult>(check, input, Retry);
        }
        catch (TaskFailedException e)
        {
            return new CheckResult(check, [], e.FailureDetails.ErrorMessage);
        }
    }
}
